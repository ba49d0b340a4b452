/**
 * The recording's clock: NWB times are seconds since the file's `timestamps_reference_time`, an ISO
 * 8601 text with up to microseconds. JavaScript's Date keeps milliseconds, so times are parsed here
 * to whole microseconds since the Unix epoch (an integer, exact in a float64 until the year 2255),
 * and offsets between clocks are taken in whole microseconds before any fraction is added.
 */

/** Microseconds since 1970-01-01T00:00:00Z of an ISO 8601 date-time. */
export type EpochMicros = number;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parse an ISO 8601 date-time (as pynwb, h5py and we write it) to whole microseconds since the
 * epoch. A fraction beyond microseconds is rounded to the nearest microsecond. A time without a
 * UTC offset is ambiguous (it is local time somewhere): it is refused unless `assumeUtc`.
 */
export function parseIsoMicros(text: string, options: { assumeUtc?: boolean } = {}): EpochMicros {
  const m = ISO.exec(text.trim());
  if (!m) throw new Error(`${JSON.stringify(text)} is not an ISO 8601 date-time`);
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone] = m;
  if (zone === undefined && !options.assumeUtc) throw new Error(`${JSON.stringify(text)} has no UTC offset, so the instant it names is unknown`);
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    throw new Error(`${JSON.stringify(text)} is not a valid date-time`);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) throw new Error(`${JSON.stringify(text)} is not a valid date`);
  // Fraction to whole microseconds: the first 6 digits, rounded on the 7th.
  const digits = `${frac}000000`;
  let micros = Number(digits.slice(0, 6));
  if (frac.length > 6 && Number(frac[6]) >= 5) micros += 1;
  let offsetMinutes = 0;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    offsetMinutes = (zm[1] === "-" ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3] ?? "0"));
  }
  return (ms - offsetMinutes * 60_000) * 1000 + micros;
}

/** Unix-epoch seconds (a float64 from a log) to whole microseconds, rounded (float64 resolves ~0.24 µs now). */
export function unixSecondsToMicros(t: number): EpochMicros {
  const whole = Math.floor(t);
  return whole * 1_000_000 + Math.round((t - whole) * 1_000_000);
}

/**
 * Seconds between two instants given in whole microseconds: exact to the microsecond (the integer
 * difference is taken first; only the final division rounds, to the nearest float64).
 */
export function secondsBetween(from: EpochMicros, to: EpochMicros): number {
  return (to - from) / 1_000_000;
}

/** How a settings source's times become recording times. */
export interface RecordingClock {
  /** The recording's timestamps_reference_time as text, and in µs. */
  referenceText: string;
  reference: EpochMicros;
  /** `--offset`: seconds added to every event time after alignment (a clock known to differ). */
  offset: number;
  /** An absolute event time (Unix seconds) → recording time in seconds, on whole microseconds. */
  fromUnixSeconds(t: number): number;
  /** A time relative to another file's reference (µs) → recording time in seconds, on whole microseconds. */
  fromRelative(sourceReference: EpochMicros, t: number): number;
}

export function recordingClock(referenceText: string, offset = 0): RecordingClock {
  const reference = parseIsoMicros(referenceText);
  const offsetMicros = Math.round(offset * 1_000_000);
  return {
    referenceText,
    reference,
    offset,
    // A float64 Unix time resolves ~0.24 µs today: rounded to its whole microsecond, the
    // difference is taken in integers, so a time written as ….123456 lands on exactly ….123456.
    fromUnixSeconds: (t) => (unixSecondsToMicros(t) - reference + offsetMicros) / 1_000_000,
    fromRelative: (sourceReference, t) => (sourceReference - reference + offsetMicros + Math.round(t * 1_000_000)) / 1_000_000,
  };
}
