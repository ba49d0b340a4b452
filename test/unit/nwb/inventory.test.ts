/** The one inventory of a file: series and tables by neurodata_type, rows, and what is torn. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AnnotationSeries } from "../../../src/nwb/annotation-series.js";
import { describeNwb } from "../../../src/nwb/describe.js";
import { inventory } from "../../../src/nwb/inventory.js";
import { NwbFile, NwbFileReader } from "../../../src/nwb/nwb-file.js";
import { TimeIntervals } from "../../../src/nwb/time-intervals.js";
import { pynwbWrite } from "./pynwb.js";

const dir = mkdtempSync(join(tmpdir(), "nwb-inventory-"));

async function ours(p: string): Promise<void> {
  const nwb = await NwbFile.create(p, { session_description: "inventory" });
  const s = AnnotationSeries.create(nwb, "notes", "d");
  s.append(0, "a");
  s.append(1, "b");
  const t = await TimeIntervals.create(nwb, "settings", "d", [{ name: "x", type: "int64", description: "x" }]);
  for (let i = 0; i < 3; i++) t.appendRowValues(i, i + 1, [BigInt(i)]);
  nwb.close();
}

describe("inventory", () => {
  it("lists our series and tables with rows and columns", async () => {
    const p = join(dir, "ours.nwb");
    await ours(p);
    const r = await NwbFileReader.open(p);
    try {
      const inv = inventory(r);
      expect(inv.problems).toEqual([]);
      expect(inv.objects.map((o) => [o.path, o.neurodataType, o.rows])).toEqual([
        ["acquisition/notes", "AnnotationSeries", 2],
        ["intervals/settings", "TimeIntervals", 3],
      ]);
      expect(inv.objects[1]!.columns).toEqual(["start_time", "stop_time", "x"]);
    } finally {
      r.close();
    }
    expect((await describeNwb(p)).map((o) => [o.path, o.rows])).toEqual([
      ["/acquisition/notes", 2],
      ["/intervals/settings", 3],
    ]);
  });

  it("finds series and tables wherever a file we did not write keeps them", async () => {
    const p = join(dir, "pynwb.nwb");
    pynwbWrite(p);
    const r = await NwbFileReader.open(p);
    try {
      const inv = inventory(r);
      expect(inv.problems).toEqual([]);
      expect(inv.objects.map((o) => [o.path, o.neurodataType, o.rows])).toEqual([
        ["intervals/trials_like", "TimeIntervals", 2],
        ["processing/behavior/notes", "AnnotationSeries", 2],
      ]);
    } finally {
      r.close();
    }
  });

  it("counts the rows every column holds and reports a torn table", async () => {
    const p = join(dir, "torn.nwb");
    await ours(p);
    const nwb = await NwbFile.open(p);
    nwb.openAppendable("intervals/settings/id", "int64").truncate(1); // as if a crash cut the id column short
    nwb.close();
    const r = await NwbFileReader.open(p);
    try {
      const inv = inventory(r, { types: ["TimeIntervals"] });
      expect(inv.objects.map((o) => [o.path, o.rows])).toEqual([["intervals/settings", 1]]);
      expect(inv.problems).toEqual([expect.stringMatching(/^intervals\/settings has columns of different lengths \(id: 1, start_time: 3, .*torn by a crash$/)]);
    } finally {
      r.close();
    }
  });
});
