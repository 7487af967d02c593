/**
 * The folder that holds versions.json, patches/ … (the package root): the
 * nearest folder above this module with a package.json. Searched, not a fixed
 * "../..", because the same code runs from src/io/, from tsc's dist/io/ and
 * bundled into dist/ (scripts/bundle-cli.mjs). Its own module, so the entry
 * point can print --version without loading the catalog reader.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));
export const DEFAULT_CATALOG_PATH = join(PACKAGE_ROOT, "versions.json");

function packageRoot(from: string): string {
  for (let dir = from; ;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(from, "..", "..");
    dir = up;
  }
}
