/** One self-updating status line on a terminal (stderr); nothing when stderr is not a TTY. */
export class StatusLine {
  private last = "";
  readonly enabled: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = Boolean(stream.isTTY);
  }

  show(text: string): void {
    if (!this.enabled || text === this.last) return;
    this.last = text;
    const cols = this.stream.columns ?? 80;
    this.stream.write(`\r\x1b[2K${text.slice(0, cols - 1)}`);
  }

  /** Print a line above the status line. */
  log(message: string): void {
    if (this.enabled) this.stream.write("\r\x1b[2K");
    this.stream.write(`${message}\n`);
    if (this.enabled && this.last) this.stream.write(this.last.slice(0, (this.stream.columns ?? 80) - 1));
  }

  clear(): void {
    if (this.enabled && this.last) this.stream.write("\r\x1b[2K");
    this.last = "";
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
