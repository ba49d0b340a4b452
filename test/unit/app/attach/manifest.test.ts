/** Batch attach manifests and shards (#11): every pair exactly once across N shards. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseManifest, parseShard, shardOf, splitCsvLine } from "../../../../src/app/attach/manifest.js";

describe("manifest", () => {
  it("reads pairs relative to its folder, skipping comments, blanks and a header", () => {
    const m = parseManifest(
      ["recording,settings", "# a comment", "", "a.nwb, logs/a.jsonl", "/abs/b.nwb,/abs/b.jsonl", '"c,1.nwb","c ""x"".jsonl"'].join("\n"),
      "/data/run/manifest.csv",
    );
    expect(m.problems).toEqual([]);
    expect(m.pairs.map((p) => [p.recording, p.settings, p.where])).toEqual([
      ["/data/run/a.nwb", "/data/run/logs/a.jsonl", "/data/run/manifest.csv:4"],
      ["/abs/b.nwb", "/abs/b.jsonl", "/data/run/manifest.csv:5"],
      ["/data/run/c,1.nwb", '/data/run/c "x".jsonl', "/data/run/manifest.csv:6"],
    ]);
  });

  it("reports lines that are not pairs, and a recording named twice", () => {
    const m = parseManifest(["a.nwb,a.jsonl", "only-one-field", "a.nwb,b.jsonl", '"open,x', "x,y,z"].join("\r\n"), "/m.csv");
    expect(m.pairs).toHaveLength(1);
    expect(m.problems).toEqual([
      '/m.csv:2: expected "recording,settings", got 1 field(s)',
      "/m.csv:3: /a.nwb is already attached to on /m.csv:1; one attach per recording per run",
      "/m.csv:4: a quoted field is not closed",
      '/m.csv:5: expected "recording,settings", got 3 field(s)',
    ]);
  });

  it("splits CSV fields", () => {
    expect(splitCsvLine("a,b")).toEqual(["a", "b"]);
    expect(splitCsvLine('"a,b",c')).toEqual(["a,b", "c"]);
    expect(() => splitCsvLine('"a"b,c')).toThrow(/after a closing quote/);
  });
});

describe("shards", () => {
  it("parses K/N with K counted from 0", () => {
    expect(parseShard("0/4")).toEqual([0, 4]);
    expect(parseShard(" 3 / 4 ")).toEqual([3, 4]);
    expect(() => parseShard("4/4")).toThrow(/0 … N-1/);
    expect(() => parseShard("1/0")).toThrow(/N at least 1/);
    expect(() => parseShard("a/b")).toThrow(/K\/N/);
  });

  it("N shards cover every item exactly once", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), (m, n) => {
        const items = Array.from({ length: m }, (_, i) => i);
        const all = Array.from({ length: n }, (_, k) => shardOf(items, k, n)).flat();
        expect(all.sort((a, b) => a - b)).toEqual(items);
        // balanced: shard sizes differ by at most one
        const sizes = Array.from({ length: n }, (_, k) => shardOf(items, k, n).length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }),
    );
  });
});
