/**
 * Vendored runc files as they look after this tool's source patches
 * (docs/domain.md, "Release eras"): the vendor-stub memory.go whose kmem functions are stubs
 * returning the disabled error, and the kmem-override kmem.go that keeps its
 * `!nokmem` constraint but carries the disabled implementation. Built from the
 * fixture files so inspection can be tested on trees after a patch.
 */
import { functionBody } from "../../src/tree/go-source.js";

const DISABLED = "kernel memory accounting disabled in this runc build";

function replaceBody(src: string, name: string, body: string): string {
  const old = functionBody(src, name);
  if (old === null) throw new Error(`no func ${name} to replace`);
  const at = src.indexOf(old, src.indexOf(`func ${name}(`));
  return src.slice(0, at) + body + src.slice(at + old.length);
}

/** memory.go of the pre-split layout after the vendor-stub patch. */
export function vendorStubPatched(memoryGo: string): string {
  let out = replaceBody(memoryGo, "EnableKernelMemoryAccounting", "\n\t// kubelet-nokmem: kernel memory accounting is never enabled.\n\treturn nil\n");
  out = replaceBody(out, "setKernelMemory", `\n\treturn errors.New("${DISABLED}")\n`);
  return out;
}

/** The fs package of a split layout after the kmem-override patch. */
export function kmemOverridePatched(files: Record<string, string>): Record<string, string> {
  const disabled = files["kmem_disabled.go"];
  if (disabled === undefined) throw new Error("no kmem_disabled.go to copy");
  const kmemGo = disabled.replace("//go:build linux && nokmem", "//go:build linux && !nokmem").replace("// +build linux,nokmem", "// +build linux,!nokmem");
  return { ...files, "kmem.go": kmemGo };
}
