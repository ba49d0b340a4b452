/** The recording's clock: ISO times to whole microseconds, Unix and relative times to recording time (#11). */
import { describe, expect, it } from "vitest";
import { parseIsoMicros, recordingClock, secondsBetween, unixSecondsToMicros } from "../../../../src/app/attach/recording-clock.js";

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000; // µs of 2026-01-02T03:04:05Z

describe("parseIsoMicros", () => {
  it("keeps microseconds that a JavaScript Date would drop", () => {
    expect(parseIsoMicros("2026-01-02T03:04:05.123456+00:00")).toBe(T0 + 123456);
    expect(parseIsoMicros("2026-01-02T03:04:05.123456Z")).toBe(T0 + 123456);
    expect(new Date("2026-01-02T03:04:05.123456Z").getTime() * 1000).toBe(T0 + 123000); // what Date keeps
  });

  it("applies the UTC offset", () => {
    expect(parseIsoMicros("2026-01-02T04:34:05.000001+01:30")).toBe(T0 + 1);
    expect(parseIsoMicros("2026-01-01T22:04:05-05:00")).toBe(T0);
    expect(parseIsoMicros("2026-01-02T04:04:05+0100")).toBe(T0);
  });

  it("reads short and long fractions, rounding beyond microseconds", () => {
    expect(parseIsoMicros("2026-01-02T03:04:05.5Z")).toBe(T0 + 500000);
    expect(parseIsoMicros("2026-01-02T03:04:05.1234565Z")).toBe(T0 + 123457);
    expect(parseIsoMicros("2026-01-02T03:04:05.1234564Z")).toBe(T0 + 123456);
    expect(parseIsoMicros("2026-01-02T03:04:05Z")).toBe(T0);
  });

  it("refuses text that names no instant", () => {
    expect(() => parseIsoMicros("2026-01-02T03:04:05.123456")).toThrow(/no UTC offset/);
    expect(parseIsoMicros("2026-01-02T03:04:05.123456", { assumeUtc: true })).toBe(T0 + 123456);
    expect(() => parseIsoMicros("yesterday")).toThrow(/not an ISO 8601/);
    expect(() => parseIsoMicros("2026-02-30T00:00:00Z")).toThrow(/not a valid date/);
    expect(() => parseIsoMicros("2026-13-01T00:00:00Z")).toThrow(/not a valid/);
  });
});

describe("recordingClock", () => {
  const clock = recordingClock("2026-01-02T03:04:05.123456+00:00");

  it("puts Unix event times on the recording's clock, exact to the microsecond", () => {
    const ref = (T0 + 123456) / 1e6;
    for (const rel of [0, 0.25, 1.000001, -2.5, 3600.999999, 86_400.000001]) {
      const t = (T0 + 123456 + Math.round(rel * 1e6)) / 1e6; // what a log holds, a float64
      expect(clock.fromUnixSeconds(t)).toBe(rel);
    }
    expect(clock.fromUnixSeconds(ref)).toBe(0);
  });

  it("moves times from another file's reference in whole microseconds", () => {
    const otherRef = T0 + 123456 - 10_000_001; // 10.000001 s earlier
    expect(clock.fromRelative(otherRef, 0)).toBe(-10.000001);
    expect(clock.fromRelative(otherRef, 10.000001)).toBe(0);
  });

  it("adds --offset", () => {
    const shifted = recordingClock("2026-01-02T03:04:05.123456+00:00", -0.25);
    expect(shifted.fromUnixSeconds((T0 + 123456 + 1_000_000) / 1e6)).toBe(0.75);
  });

  it("converts with whole microseconds", () => {
    expect(unixSecondsToMicros(1767323045.123456)).toBe(T0 + 123456);
    expect(secondsBetween(T0, T0 + 1)).toBe(0.000001);
  });
});
