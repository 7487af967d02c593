// Lint with typescript-eslint's type-aware rules: they read the types tsc
// infers, so they catch floating promises, awaits of non-promises, unsafe
// `any` flows and needless assertions that the compiler alone accepts.
// `npm run lint` runs this and knip; both must report nothing.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "out/**", ".stryker-tmp/**", "reports/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // tsconfig.test.json covers src/, test/ and vitest.config.ts.
      parserOptions: { project: "./tsconfig.test.json", tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // The code marks a deliberately ignored binding with a leading
      // underscore (`{ nameOff: _n, ...rest }`), as tsc's noUnused* options do.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read the CLI's --json output and fixture JSON with JSON.parse and
    // assert on its shape with expect(); typing every parsed document would
    // add casts, not safety. Source code keeps these rules.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // Test doubles and fixture builders are async to match the interface
      // they stand in for, even when their body needs no await.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // Scripts and benches are plain ES modules run by Node, outside tsc.
    files: ["**/*.mjs", "**/*.js", "**/*.cjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        module: "writable",
        require: "readonly",
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        Buffer: "readonly",
        performance: "readonly",
        setTimeout: "readonly",
      },
    },
  },
);
