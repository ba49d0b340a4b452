/** Options of `record --streams` (kept apart so that a settings-only record loads no stream code). */
export type StreamClock = "system" | "monotonic" | "unknown";
export const STREAM_CLOCKS: readonly StreamClock[] = ["system", "monotonic", "unknown"];
export type OverflowPolicy = "block" | "drop";

/** Per-stream counters for the status line and the summary. */
export interface StreamStats {
  topic: string;
  frames: number;
  samples: number;
  bytes: number;
  dropped: number;
  droppedSamples: number;
  skipped: number;
  series: string[];
  /** Sample rate of the last regular chunk (Hz), if any. */
  rate: number | null;
  queuedBytes: number;
  queuedSeconds: number;
}
