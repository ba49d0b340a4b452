/** The producer's default clock: a steady wall−monotonic offset, so the rebase keeps source time differences exactly. */
import { describe, expect, it } from "vitest";
import { WALL_STEP_MS, systemClock } from "../../../src/producer/producer.js";

describe("systemClock", () => {
  it("gives the same wall−monotonic offset on every reading (no millisecond jitter from Date.now)", async () => {
    const offsets = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      offsets.add(systemClock.wallMinusMonotonic!());
      if (i % 500 === 0) await new Promise((r) => setTimeout(r, 3));
    }
    expect(offsets.size).toBe(1);
  });

  it("agrees with Date.now() within the step threshold and is consistent with monotonicNow", () => {
    const wall = systemClock.wallNow() * 1000;
    expect(Math.abs(wall - Date.now())).toBeLessThanOrEqual(WALL_STEP_MS + 1);
    const off = systemClock.wallMinusMonotonic!();
    expect(Math.abs(systemClock.wallNow() - systemClock.monotonicNow() - off)).toBeLessThan(1e-4);
  });

  it("rebasing two source times 10 µs apart keeps them 10 µs apart and in order", () => {
    const a = 1795880768.9386742;
    const b = a + 1e-5;
    const ra = a - systemClock.wallMinusMonotonic!();
    const rb = b - systemClock.wallMinusMonotonic!();
    expect(rb - ra).toBeCloseTo(b - a, 12);
  });
});
