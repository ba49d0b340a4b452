/**
 * File time ↔ wall clock, exact to the microsecond, through the file's timestamps_reference_time
 * (ISO 8601 with up to 6 fraction digits and a UTC offset, as NWB stores it). Wall-clock times are
 * shown and read in the reference time's own UTC offset, i.e. the recording's local time.
 * JavaScript's Date keeps only milliseconds, so times are integer microseconds here.
 */
import { UsageError } from "../../errors.js";

const US_PER_DAY = 86_400_000_000;

export interface ReferenceTime {
  /** Microseconds since the Unix epoch (UTC). */
  epochMicros: number;
  /** The offset from UTC the time was written with, in minutes (0 when it had none or `Z`). */
  offsetMinutes: number;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parse an ISO 8601 date-time; undefined when it is not one. A missing offset is UTC. */
export function parseIsoTime(text: string): ReferenceTime | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, off] = m;
  const days = Date.UTC(Number(y), Number(mo) - 1, Number(d)) / 86_400_000;
  const micros = fractionMicros(frac);
  let offsetMinutes = 0;
  if (off && off !== "Z") {
    const sign = off[0] === "-" ? -1 : 1;
    const digits = off.slice(1).replace(":", "");
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  const localMicros = days * US_PER_DAY + ((Number(h) * 60 + Number(mi)) * 60 + Number(s ?? 0)) * 1_000_000 + micros;
  return { epochMicros: localMicros - offsetMinutes * 60_000_000, offsetMinutes };
}

/** Up to 6 fraction digits as microseconds (more digits are rounded to the microsecond). */
function fractionMicros(frac: string | undefined): number {
  if (!frac) return 0;
  return Math.round(Number(`0.${frac}`) * 1_000_000);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Microseconds of a file time (seconds), rounded to the microsecond. */
function toMicros(seconds: number): number {
  return Math.round(seconds * 1_000_000);
}

/** `HH:MM:SS.ffffff` (with `YYYY-MM-DD ` when `withDate`) of file time `t`, in the reference's offset. */
export function formatWallClock(t: number, ref: ReferenceTime, withDate = false): string {
  const local = ref.epochMicros + ref.offsetMinutes * 60_000_000 + toMicros(t);
  const day = Math.floor(local / US_PER_DAY);
  let rest = local - day * US_PER_DAY;
  const h = Math.floor(rest / 3_600_000_000);
  rest -= h * 3_600_000_000;
  const mi = Math.floor(rest / 60_000_000);
  rest -= mi * 60_000_000;
  const s = Math.floor(rest / 1_000_000);
  const us = rest - s * 1_000_000;
  const clock = `${pad(h)}:${pad(mi)}:${pad(s)}.${pad(us, 6)}`;
  if (!withDate) return clock;
  return `${new Date(day * 86_400_000).toISOString().slice(0, 10)} ${clock}`;
}

/** Does the time span [a, b] (file time) cross a date boundary in the reference's offset? */
export function spansDates(a: number, b: number, ref: ReferenceTime): boolean {
  const local = (t: number): number => Math.floor((ref.epochMicros + ref.offsetMinutes * 60_000_000 + toMicros(t)) / US_PER_DAY);
  return Number.isFinite(a) && Number.isFinite(b) && local(a) !== local(b);
}

const CLOCK = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

/**
 * A time given on the command line as file time: seconds (`12.5`), a wall-clock time of day
 * (`HH:MM:SS[.ffffff]`, in the recording's offset; of the day on which it falls inside the
 * recording `[start, end]`, else of the reference time's day, or the next day when that is before
 * it), or a full ISO 8601 date-time. UsageError when it is none of these.
 */
export function parseTimeArg(text: string, referenceTime: string, range: { start: number; end: number }): number {
  const trimmed = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(trimmed)) return Number(trimmed);
  const ref = parseIsoTime(referenceTime);
  const clock = CLOCK.exec(trimmed);
  const iso = clock ? undefined : parseIsoTime(trimmed);
  if (!clock && !iso) {
    throw new UsageError(`--at ${text}: not a time; give seconds of file time (12.5), a wall-clock time HH:MM:SS[.ffffff] or an ISO 8601 date-time`);
  }
  if (!ref)
    throw new UsageError(`--at ${text}: the file's timestamps_reference_time (${JSON.stringify(referenceTime)}) cannot be read, so give seconds of file time`);
  if (iso) return (iso.epochMicros - ref.epochMicros) / 1_000_000;
  const [, h, mi, s, frac] = clock!;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw new UsageError(`--at ${text}: not a time of day`);
  const tod = ((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1_000_000 + fractionMicros(frac);
  const refLocal = ref.epochMicros + ref.offsetMinutes * 60_000_000;
  const refDay = Math.floor(refLocal / US_PER_DAY) * US_PER_DAY;
  const candidate = (k: number): number => (refDay + k * US_PER_DAY + tod - refLocal) / 1_000_000;
  const days = Math.max(1, Math.ceil((range.end - range.start) / 86_400) + 1);
  for (let k = -1; k <= days; k++) {
    const t = candidate(k);
    if (t >= range.start && t <= range.end) return t;
  }
  return candidate(0) >= 0 ? candidate(0) : candidate(1);
}
