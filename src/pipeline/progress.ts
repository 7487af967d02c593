/**
 * Build progress on stderr. On a terminal: one line per phase and a status
 * line that follows make's output in place. Otherwise (CI logs, pipes): plain
 * lines only, with a heartbeat while make runs, so a log shows both what
 * happened and that the build is alive. `--verbose` streams make's output.
 */

type Phase = string;

export interface ProgressSink {
  /** A full line (newline added by the sink). */
  line(text: string): void;
  /** Raw terminal output for the status line; absent when stderr is not a terminal. */
  raw?: (text: string) => void;
  columns?: number;
}

export class Progress {
  private current: { phase: Phase; started: number } | null = null;
  private statusShown = false;
  private lastStatus = 0;
  private lines = 0;

  constructor(
    private readonly sink: ProgressSink,
    private readonly phases: readonly string[],
    private readonly verbose = false,
    private readonly heartbeatMs = 30_000,
  ) {}

  get tty(): boolean {
    return Boolean(this.sink.raw);
  }

  private timer: NodeJS.Timeout | null = null;

  start(phase: Phase, detail = ""): void {
    this.clearStatus();
    this.stopTimer();
    this.current = { phase, started: Date.now() };
    if (!this.sink.raw && !this.verbose) {
      // A silent phase (make's own output goes to build.log) still shows it is alive.
      this.timer = setInterval(() => this.beat(), this.heartbeatMs);
      this.timer.unref();
    }
    this.lines = 0;
    const n = this.phases.indexOf(phase) + 1;
    this.sink.line(`[${n}/${this.phases.length}] ${phase}${detail ? `: ${detail}` : ""}`);
  }

  done(detail = ""): void {
    this.stopTimer();
    if (!this.current) return;
    this.clearStatus();
    const secs = ((Date.now() - this.current.started) / 1000).toFixed(1);
    this.sink.line(`      ${this.current.phase} done in ${secs}s${detail ? `: ${detail}` : ""}`);
    this.current = null;
  }

  info(text: string): void {
    this.clearStatus();
    this.sink.line(`      ${text}`);
  }

  /** One line of make's (or git's) output. */
  output(line: string): void {
    this.lines++;
    if (this.verbose) {
      this.clearStatus();
      this.sink.line(`    | ${line}`);
      return;
    }
    const now = Date.now();
    if (this.sink.raw) {
      if (now - this.lastStatus < 100) return;
      this.lastStatus = now;
      const elapsed = this.current ? fmt(now - this.current.started) : "";
      const width = Math.max(20, (this.sink.columns ?? 80) - 1);
      this.sink.raw(`\r\x1b[K${`      ${elapsed} · ${line}`.slice(0, width)}`);
      this.statusShown = true;
    }
  }

  /** Stop the heartbeat (the build failed or finished). */
  stop(): void {
    this.stopTimer();
    this.clearStatus();
  }

  private beat(): void {
    if (!this.current) return;
    const now = Date.now();
    this.sink.line(`      ${this.current.phase}: still running after ${fmt(now - this.current.started)} (${this.lines} lines of output)`);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private clearStatus(): void {
    if (this.statusShown && this.sink.raw) this.sink.raw("\r\x1b[K");
    this.statusShown = false;
  }
}

function fmt(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
