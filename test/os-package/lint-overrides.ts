/**
 * The rpmlint and lintian tags our kubelet packages still get, each with the
 * reason it stays. Any other tag fails test/os-package/packages.slow.test.ts.
 */

/** rpmlint 2.x tags (Debian's rpmlint, no distribution profile). */
export const RPMLINT_ACCEPTED: Record<string, string> = {
  "unstripped-binary-or-object": "the kubelet's bytes are its pin: stripping would change its sha256 and lose the Go symbols the audit reads",
  "statically-linked-binary": "the kubelet is Go; upstream's own kubelet package ships it the same way",
  "position-independent-executable-suggested": "the kubelet is built as upstream builds it; a PIE build would be another binary than the pinned one",
  "missing-PT_GNU_STACK-section":
    "the tests package a synthetic ELF file (test/audit/synthetic.ts) without program headers; a real Go kubelet has PT_GNU_STACK",
  "no-manual-page-for-binary": "upstream's kubelet package has no manual page either; `kubelet --help` is the reference",
  "no-documentation": "the package documents itself in its description and /usr/share/kubelet-nokmem/pin.json, as the stock one ships no %doc",
  "only-non-binary-in-usr-lib": "the unit belongs in /usr/lib/systemd/system, where the stock package and kubeadm's drop-in expect it",
  "unknown-key":
    "rpmlint checks the signature against this host's rpm database, which holds no repository key; rpm -K with the public key imported verifies it (the same test)",
  "invalid-license": "Debian's rpmlint has no licence list configured; `ASL 2.0` is the name CentOS 7 and the stock package use",
};

/** lintian tags (Debian 12). */
export const LINTIAN_ACCEPTED: Record<string, string> = {
  "statically-linked-binary": "the kubelet is Go; upstream's own kubelet package ships it the same way",
  "unstripped-binary-or-object": "the kubelet's bytes are its pin: stripping would change its sha256",
  "no-manual-page": "upstream's kubelet package has no manual page either",
  "depends-on-essential-package-without-using-version":
    "the stock kubelet package depends on util-linux and mount without a version; we keep its dependency list so a node's dependency solution does not change",
};
