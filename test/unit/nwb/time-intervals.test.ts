/** TimeIntervals: created, opened to append, read — each checked against pynwb. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NwbFile, NwbFileReader } from "../../../src/nwb/nwb-file.js";
import { type ColumnSpec, TimeIntervals, readTimeIntervals } from "../../../src/nwb/time-intervals.js";
import { pynwbRead, pynwbWrite } from "./pynwb.js";

const dir = mkdtempSync(join(tmpdir(), "nwb-intervals-"));
const meta = { session_description: "time intervals" };
const COLUMNS: ColumnSpec[] = [
  { name: "gain", type: "float64", description: "a float" },
  { name: "count", type: "int64", description: "an int" },
  { name: "on", type: "bool", description: "a bool" },
  { name: "label", type: "text", description: "a text" },
  { name: "taps", type: "float64", cellShape: [3], description: "an array" },
];

async function withTable(p: string, rows: number): Promise<void> {
  const nwb = await NwbFile.create(p, meta);
  const t = await TimeIntervals.create(nwb, "settings", "a table", COLUMNS);
  for (let i = 0; i < rows; i++) t.appendRowValues(i, i + 1, [i + 0.5, BigInt(-i), i % 2 === 0, `row ${i} ✓`, [i, i + 0.25, -i]]);
  nwb.close();
}

describe("TimeIntervals", () => {
  it("created rows read the same in pynwb (dtypes included) and in our reader", async () => {
    const p = join(dir, "t.nwb");
    await withTable(p, 3);
    const py = pynwbRead(p);
    expect(py.validate).toEqual([]);
    const t = py.intervals["settings"]!;
    expect(t.colnames).toEqual(["start_time", "stop_time", "gain", "count", "on", "label", "taps"]);
    expect(t.dtypes).toMatchObject({ gain: "float64", count: "int64", on: "bool" });
    expect(["str", "object"]).toContain(t.dtypes["label"]); // pandas 3 says str, pandas 2 object
    expect(t.ids).toEqual([0, 1, 2]);
    expect(t.rows[1]).toEqual({ start_time: 1, stop_time: 2, gain: 1.5, count: -1, on: false, label: "row 1 ✓", taps: [1, 1.25, -1] });
    const r = await NwbFileReader.open(p);
    try {
      const ours = readTimeIntervals(r, "intervals/settings");
      expect(ours.columns.map((c) => [c.name, c.type, c.cellShape])).toEqual(COLUMNS.map((c) => [c.name, c.type, c.cellShape ?? []]));
      expect(ours.id).toEqual([0n, 1n, 2n]);
      expect(ours.startTime).toEqual([0, 1, 2]);
      expect(ours.cells.get("on")).toEqual([true, false, true]);
      expect(ours.cells.get("count")).toEqual([0n, -1n, -2n]);
      expect(ours.cells.get("taps")![2]).toEqual([2, 2.25, -2]);
    } finally {
      r.close();
    }
  });

  it("chunks every scalar column alike, bool included (one default chunk size)", async () => {
    const p = join(dir, "chunks.nwb");
    await withTable(p, 1);
    const chunks = pynwbRead(p).intervals["settings"]!.chunks;
    expect(chunks["on"]).toEqual(chunks["gain"]);
    expect(chunks["on"]).toEqual(chunks["count"]);
    expect(chunks["start_time"]).toEqual(chunks["gain"]);
  });

  it("opened to append continues ids and rows, bool column included", async () => {
    const p = join(dir, "append.nwb");
    await withTable(p, 2);
    const nwb = await NwbFile.open(p);
    const t = TimeIntervals.open(nwb, "settings");
    expect(t.length).toBe(2);
    expect(t.columns.map((c) => c.type)).toEqual(["float64", "int64", "bool", "text", "float64"]);
    t.appendRowValues(5, 6, [9.5, 9n, false, "appended", [1, 2, 3]]);
    nwb.close();
    const py = pynwbRead(p);
    expect(py.validate).toEqual([]);
    const table = py.intervals["settings"]!;
    expect(table.ids).toEqual([0, 1, 2]);
    expect(table.rows[2]).toEqual({ start_time: 5, stop_time: 6, gain: 9.5, count: 9, on: false, label: "appended", taps: [1, 2, 3] });
  });

  it("reads a table pynwb wrote, found by neurodata_type", async () => {
    const p = join(dir, "pynwb.nwb");
    pynwbWrite(p);
    const r = await NwbFileReader.open(p);
    try {
      const [found] = r.findByType("TimeIntervals");
      const t = readTimeIntervals(r, found!.path);
      expect(t.columns.map((c) => [c.name, c.type])).toEqual([
        ["gain", "float64"],
        ["count", "int64"],
        ["on", "bool"],
        ["label", "text"],
      ]);
      expect(t.cells.get("on")).toEqual([true, false]);
      expect(t.cells.get("label")).toEqual(["a", "b ✓"]);
      expect(t.stopTime).toEqual([1, 2]);
    } finally {
      r.close();
    }
  });
});
