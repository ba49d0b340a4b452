/**
 * A one-line progress bar on a terminal (stderr); silent when stderr is not a TTY. It moves with
 * the bytes read inside each input, not only per finished input.
 */
export class ProgressBar {
  private done = 0;
  private failed = 0;
  private readonly enabled: boolean;
  /** Fraction (0…1) of each input in progress. */
  private readonly partial = new Map<string, number>();
  private lastDraw = 0;

  constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY) && total > 0;
  }

  /** Progress inside one input (bytes read of its two passes). */
  progress(label: string, done: number, total: number): void {
    this.partial.set(label, total > 0 ? Math.min(1, done / total) : 0);
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw(label);
  }

  tick(ok: boolean, label: string): void {
    this.done++;
    this.partial.delete(label);
    if (!ok) this.failed++;
    this.draw(label);
    if (this.enabled && this.done === this.total) this.stream.write("\n");
  }

  private draw(label: string): void {
    if (!this.enabled) return;
    let fraction = this.done;
    for (const f of this.partial.values()) fraction += f;
    const width = 24;
    const filled = Math.min(width, Math.round((fraction / this.total) * width));
    const bar = "#".repeat(filled) + ".".repeat(width - filled);
    const failed = this.failed ? `, ${this.failed} failed` : "";
    const cols = this.stream.columns ?? 80;
    const line = `[${bar}] ${this.done}/${this.total}${failed}  ${label}`;
    this.stream.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
  }

  /** Print a message above the bar without garbling it. */
  log(message: string): void {
    if (this.enabled) this.stream.write("\r\x1b[2K");
    this.stream.write(`${message}\n`);
  }
}
