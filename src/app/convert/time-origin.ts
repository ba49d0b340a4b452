/**
 * How event timestamps become file time. `first-event` (default): seconds since the earliest
 * event of the log, with the session start at that instant. `raw`: timestamps stored unchanged;
 * if they look like Unix time, timestamps_reference_time is the Unix epoch, so they stay exact.
 */
import type { UnixMicros } from "../../nwb/nwb-file.js";

export type TimeOrigin = "raw" | "first-event";
export const TIME_ORIGINS: readonly TimeOrigin[] = ["raw", "first-event"];

/** Plausible Unix-epoch seconds (2001 … 2286): anything else is a clock with an unknown origin. */
export function looksLikeUnixTime(t: number): boolean {
  return t >= 1e9 && t < 1e10;
}

export interface FileClock {
  /** Event timestamp → file time (seconds from timestamps_reference_time). */
  toFileTime(t: number): number;
  sessionStartTime: Date;
  /** Exact to the µs when it is an event's own time (a `Date` would cut it to the ms). */
  timestampsReferenceTime: Date | UnixMicros;
}

export function fileClock(origin: TimeOrigin, earliest: number, now: Date = new Date()): FileClock {
  const start = looksLikeUnixTime(earliest) ? new Date(earliest * 1000) : now;
  if (origin === "raw") {
    const reference = looksLikeUnixTime(earliest) ? new Date(0) : start;
    return { toFileTime: (t) => t, sessionStartTime: start, timestampsReferenceTime: reference };
  }
  // File time 0 is the earliest event, so the reference time is that event's time to the µs.
  const reference = looksLikeUnixTime(earliest) ? { unixMicros: Math.round(earliest * 1e6) } : start;
  return { toFileTime: (t) => t - earliest, sessionStartTime: start, timestampsReferenceTime: reference };
}
