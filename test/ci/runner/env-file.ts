/**
 * The GitHub runner's environment files ($GITHUB_OUTPUT, $GITHUB_ENV), read by
 * the runner's rules (actions/runner src/Runner.Worker/FileCommandManager.cs):
 * lines split on "\n"; empty lines skipped; a line whose first "=" comes before
 * any "<<" is `name=value` (value = everything after the first "="); a line
 * whose "<<" comes first is `name<<DELIMITER`, and the value is every line up
 * to the one that equals DELIMITER exactly; anything else — a bare JSON line,
 * say — fails the step with "Invalid format". Later assignments win.
 */
export class EnvFileError extends Error {}

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  // A file ending in "\n" has no line after it.
  if (lines.at(-1) === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "") continue;
    const eq = line.indexOf("=");
    const heredoc = line.indexOf("<<");
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      const name = line.slice(0, eq);
      if (!name) throw new EnvFileError(`Invalid format '${line}'. Name must not be empty`);
      out[name] = line.slice(eq + 1);
    } else if (heredoc >= 0 && (eq < 0 || heredoc < eq)) {
      const name = line.slice(0, heredoc);
      const delimiter = line.slice(heredoc + 2);
      if (!name || !delimiter) throw new EnvFileError(`Invalid format '${line}'. Name must not be empty and delimiter must not be empty`);
      const value: string[] = [];
      for (;;) {
        i++;
        if (i >= lines.length) throw new EnvFileError(`Invalid value. Matching delimiter not found '${delimiter}'`);
        if (lines[i] === delimiter) break;
        value.push(lines[i]!);
      }
      out[name] = value.join("\n");
    } else {
      throw new EnvFileError(`Invalid format '${line}'`);
    }
  }
  return out;
}

/** $GITHUB_PATH: every non-empty line is a directory put in front of PATH for later steps. */
export function parsePathFile(text: string): string[] {
  return text.split("\n").filter((l) => l.length > 0);
}
