import { describe, expect, it } from "vitest";
import { fileClock } from "../../../../src/app/convert/time-origin.js";
import { isoTimestamp } from "../../../../src/nwb/nwb-file.js";

describe("fileClock", () => {
  it("first-event: the reference time is the earliest event's own time, to the microsecond", () => {
    const earliest = 1767225600.123456;
    const clock = fileClock("first-event", earliest);
    expect(isoTimestamp(clock.timestampsReferenceTime)).toBe("2026-01-01T00:00:00.123456+00:00");
    expect(clock.toFileTime(earliest)).toBe(0);
    expect(clock.toFileTime(1767225601.000001)).toBeCloseTo(0.876545, 6);
  });

  it("raw: Unix-time stamps keep the epoch as reference and are stored unchanged", () => {
    const clock = fileClock("raw", 1767225600.5);
    expect(isoTimestamp(clock.timestampsReferenceTime)).toBe("1970-01-01T00:00:00.000000+00:00");
    expect(clock.toFileTime(1767225600.5)).toBe(1767225600.5);
  });

  it("stamps of unknown origin start at 0 with the reference time now", () => {
    const now = new Date("2026-03-04T05:06:07.890Z");
    const clock = fileClock("first-event", 12.5, now);
    expect(isoTimestamp(clock.timestampsReferenceTime)).toBe("2026-03-04T05:06:07.890000+00:00");
    expect(clock.toFileTime(13)).toBe(0.5);
  });
});

describe("isoTimestamp", () => {
  it("writes microseconds of an integer-µs instant, before 1970 too", () => {
    expect(isoTimestamp({ unixMicros: 1 })).toBe("1970-01-01T00:00:00.000001+00:00");
    expect(isoTimestamp({ unixMicros: -1 })).toBe("1969-12-31T23:59:59.999999+00:00");
    expect(isoTimestamp({ unixMicros: 1767225600999999 })).toBe("2026-01-01T00:00:00.999999+00:00");
  });
});
