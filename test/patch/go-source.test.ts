import { describe, expect, it } from "vitest";
import { buildConstraintHeader, findFunctions, fixImports, functionBody, maskGo, packageNameFor, replaceBody } from "../../src/tree/go-source.js";

const SRC = `package fs

import (
	"errors"
	"fmt"
	"os"

	units "github.com/docker/go-units"
)

// setKernelMemory in a comment: func setKernelMemory(x int) error { return nil }
var s = "func setKernelMemory() {"

func (g *Group) setKernelMemory(path string) error {
	return nil
}

func setKernelMemory(path string, limit int64) (err error) {
	if limit > 0 {
		return fmt.Errorf("limit %d } {", limit)
	}
	_ = units.BytesSize
	return errors.New('}' + "x")
}

func generic[T any](v T) struct{ a int } {
	return struct{ a int }{}
}
`;

describe("Go declarations", () => {
  it("masks comments and literals without moving offsets", () => {
    const m = maskGo(SRC);
    expect(m.length).toBe(SRC.length);
    expect(m).not.toContain("limit %d");
    expect(m.split("\n").length).toBe(SRC.split("\n").length);
  });

  it("finds functions and methods by name, never in comments or strings", () => {
    const spans = findFunctions(SRC, "setKernelMemory");
    expect(spans).toHaveLength(2);
    expect(functionBody(SRC, spans[1]!)).toContain("return errors.New('}' + \"x\")");
    expect(functionBody(SRC, spans[1]!).trim().endsWith('"x")')).toBe(true);
  });

  it("skips struct{} in a signature and handles type parameters", () => {
    const [g] = findFunctions(SRC, "generic");
    expect(functionBody(SRC, g!)).toBe("\n\treturn struct{ a int }{}\n");
  });

  it("ignores declarations without a body", () => {
    expect(findFunctions("package x\n\nfunc asm(a int) int\n\nfunc b() {}\n", "asm")).toEqual([]);
  });

  it.each([
    ["github.com/docker/go-units", "units"],
    ["gopkg.in/yaml.v2", "yaml"],
    ["io/ioutil", "ioutil"],
  ])("guesses the package name of %s as %s", (path, name) => {
    expect(packageNameFor(path)).toBe(name);
  });
});

describe("imports after a body changed", () => {
  it("removes exactly the imports only the old body used, keeping groups", () => {
    const span = findFunctions(SRC, "setKernelMemory")[1]!;
    const after = replaceBody(SRC, span, "\n\treturn nil\n");
    const fix = fixImports(SRC, after);
    expect(fix.removed).toEqual(["errors", "fmt", "github.com/docker/go-units"]);
    expect(fix.src).toContain('import (\n\t"os"\n)\n');
  });

  it("adds an import the new body needs, in sorted place", () => {
    const src = 'package fs\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc f() error {\n\treturn fmt.Errorf("x %v", os.Args)\n}\n';
    const after = replaceBody(src, findFunctions(src, "f")[0]!, '\n\t_ = os.Args\n\treturn errors.New("y")\n');
    const fix = fixImports(src, after, ["errors"]);
    expect(fix.src).toContain('import (\n\t"errors"\n\t"os"\n)\n');
    expect(fix.added).toEqual(["errors"]);
    expect(fix.removed).toEqual(["fmt"]);
  });

  it("turns a single import into a block when one is added", () => {
    const src = 'package fs\n\nimport "os"\n\nvar _ = os.Args\n';
    expect(fixImports(src, src, ["errors"]).src).toBe('package fs\n\nimport (\n\t"errors"\n\t"os"\n)\n\nvar _ = os.Args\n');
  });

  it("never touches blank, dot or still-used imports", () => {
    const src = 'package fs\n\nimport (\n\t_ "embed"\n\t"os"\n)\n\nfunc f() { os.Exit(1) }\n';
    expect(fixImports(src, src).src).toBe(src);
  });
});

it("splits off both build-constraint lines", () => {
  const { header, rest } = buildConstraintHeader("//go:build linux && !nokmem\n// +build linux,!nokmem\n\npackage fs\n");
  expect(header).toBe("//go:build linux && !nokmem\n// +build linux,!nokmem\n\n");
  expect(rest).toBe("package fs\n");
  expect(buildConstraintHeader("// +build linux,!nokmem\n\npackage fs\n").header).toBe("// +build linux,!nokmem\n\n");
  expect(buildConstraintHeader("package fs\n").header).toBe("");
});
