/**
 * When staged rows are written to the file (one resize + write per dataset, then H5Fflush), shared
 * by our sinks and the h5wasm floor so both get the same batching freedom:
 * - as soon as the first rows are staged (the startup snapshot), so the file is readable early;
 * - then whenever `intervalMs` (the recorder's default, 500 ms) has passed since the last flush,
 * - or `maxRows` rows are staged, whichever comes first (bounds memory independently of N),
 * - and at close.
 * Settable with BENCH_FLUSH_MS / BENCH_FLUSH_ROWS.
 */
export const FLUSH_MS = Number(process.env.BENCH_FLUSH_MS ?? 500);
export const FLUSH_ROWS = Number(process.env.BENCH_FLUSH_ROWS ?? 4096);

export class FlushPolicy {
  flushes = 0;
  #flushedRows = 0;
  #last = performance.now();

  constructor(flush, { intervalMs = FLUSH_MS, maxRows = FLUSH_ROWS } = {}) {
    this.flush = flush;
    this.intervalMs = intervalMs;
    this.maxRows = maxRows;
  }

  /** Call after staging; `totalRows` counts every row staged so far. */
  afterWrite(totalRows) {
    const staged = totalRows - this.#flushedRows;
    if (staged === 0) return;
    const t = performance.now();
    if (this.#flushedRows === 0 || staged >= this.maxRows || t - this.#last >= this.intervalMs) {
      this.flush();
      this.flushes++;
      this.#flushedRows = totalRows;
      this.#last = t;
    }
  }
}
