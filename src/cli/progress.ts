/** A one-line progress bar on a terminal (stderr); silent when stderr is not a TTY. */
export class ProgressBar {
  private done = 0;
  private failed = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY) && total > 0;
  }

  tick(ok: boolean, label: string): void {
    this.done++;
    if (!ok) this.failed++;
    if (!this.enabled) return;
    const width = 24;
    const filled = Math.round((this.done / this.total) * width);
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const failed = this.failed ? `, ${this.failed} failed` : "";
    const cols = this.stream.columns ?? 80;
    const line = `[${bar}] ${this.done}/${this.total}${failed}  ${label}`;
    this.stream.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
    if (this.done === this.total) this.stream.write("\n");
  }

  /** Print a message above the bar without garbling it. */
  log(message: string): void {
    if (this.enabled) this.stream.write("\r\x1b[2K");
    this.stream.write(`${message}\n`);
  }
}
