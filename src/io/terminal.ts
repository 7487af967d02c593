/**
 * Text that came from somewhere else (a node's hostname, a file name in a
 * tree, a line of a node file) is shown escaped, never raw: an escape
 * sequence in /etc/hostname must not retitle, recolour or rewrite the
 * terminal of whoever runs `doctor`. JSON output needs nothing: JSON escapes
 * control characters itself.
 */

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional
// overrides that reorder what is shown (CVE-2021-42574, "Trojan Source").
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
