import { describe, expect, it } from "vitest";
import { formatWallClock, parseIsoTime, parseTimeArg } from "../../../../src/app/show/wall-clock.js";

describe("wall clock through timestamps_reference_time", () => {
  const ref = "2026-03-01T12:00:00.250000-07:00";
  const range = { start: 0, end: 7200 };

  it("reads HH:MM:SS.ffffff in the reference's offset, exact to the microsecond", () => {
    expect(parseTimeArg("12:04:31.500001", ref, range)).toBe(271.250001);
    expect(parseTimeArg("12:00:00.25", ref, range)).toBe(0);
    expect(parseTimeArg("13:59:59.999999", ref, range)).toBe(7199.749999);
    expect(formatWallClock(271.250001, parseIsoTime(ref)!)).toBe("12:04:31.500001");
  });

  it("takes seconds and full ISO date-times too", () => {
    expect(parseTimeArg("12.5", ref, range)).toBe(12.5);
    expect(parseTimeArg("-1", ref, range)).toBe(-1);
    expect(parseTimeArg("2026-03-01T19:00:01.250000Z", ref, range)).toBe(1);
  });

  it("a time of day past midnight falls on the day it is inside the recording", () => {
    const late = "2026-03-01T23:30:00.000000+00:00";
    expect(parseTimeArg("00:15:00", late, { start: 0, end: 3600 })).toBe(2700);
    expect(formatWallClock(2700, parseIsoTime(late)!, true)).toBe("2026-03-02 00:15:00.000000");
  });

  it("anything else is a wrong call", () => {
    expect(() => parseTimeArg("noon", ref, range)).toThrow(/not a time/);
    expect(() => parseTimeArg("25:00:00", ref, range)).toThrow(/not a time of day/);
  });
});
