/** AnnotationSeries: created, opened to append, read — each checked against pynwb. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AnnotationSeries, readAnnotationSeries } from "../../../src/nwb/annotation-series.js";
import { NwbFile, NwbFileReader } from "../../../src/nwb/nwb-file.js";
import { pynwbRead, pynwbWrite } from "./pynwb.js";

const dir = mkdtempSync(join(tmpdir(), "nwb-annotation-"));
const meta = { session_description: "annotation series" };

describe("AnnotationSeries", () => {
  it("created rows read the same in pynwb and in our reader", async () => {
    const p = join(dir, "a.nwb");
    const nwb = await NwbFile.create(p, meta);
    const s = AnnotationSeries.create(nwb, "notes", "some notes");
    const rows: [number, string][] = [
      [0, "zero"],
      [0.5, "naïve ✓ 😀"],
      [2, ""],
    ];
    for (const [t, text] of rows) s.append(t, text);
    nwb.close();
    const py = pynwbRead(p);
    expect(py.validate).toEqual([]);
    expect(py.annotations["notes"]).toEqual({ description: "some notes", timestamps: rows.map((r) => r[0]), data: rows.map((r) => r[1]) });
    const r = await NwbFileReader.open(p);
    try {
      expect(readAnnotationSeries(r, "acquisition/notes")).toEqual({
        path: "acquisition/notes",
        name: "notes",
        description: "some notes",
        timestamps: rows.map((x) => x[0]),
        data: rows.map((x) => x[1]),
      });
    } finally {
      r.close();
    }
  });

  it("opened to append continues after the rows already there", async () => {
    const p = join(dir, "append.nwb");
    let nwb = await NwbFile.create(p, meta);
    AnnotationSeries.create(nwb, "notes", "d").append(1, "one");
    nwb.close();
    nwb = await NwbFile.open(p);
    const s = AnnotationSeries.open(nwb, "notes");
    expect(s.length).toBe(1);
    s.append(2, "two");
    nwb.close();
    const py = pynwbRead(p);
    expect(py.validate).toEqual([]);
    expect(py.annotations["notes"]).toMatchObject({ data: ["one", "two"], timestamps: [1, 2] });
  });

  it("refuses text HDF5 cannot store, naming the problem, and writes none of that batch", async () => {
    const cases: [string, string[], RegExp][] = [
      ["nul-ascii", ["fine", "a\u0000b", "also fine"], /notes\/data: text contains a NUL character/],
      ["nul-unicode", ["é", "a\u0000b"], /text contains a NUL character/],
      ["lone-surrogate", ["fine", "x\ud800"], /text contains a lone UTF-16 surrogate \(\\ud800\)/],
      ["nul-last", ["fine", "end\u0000"], /text contains a NUL character/],
    ];
    for (const [name, batch, message] of cases) {
      const p = join(dir, `${name}.nwb`);
      const nwb = await NwbFile.create(p, meta);
      const s = AnnotationSeries.create(nwb, "notes", "d");
      s.append(0, "before");
      nwb.flush();
      for (const [i, text] of batch.entries()) s.append(i + 1, text);
      expect(() => nwb.flush(), name).toThrow(message);
      try {
        nwb.close();
      } catch {
        // the refused batch is still staged; the file keeps what was flushed before it
      }
      expect(pynwbRead(p).annotations["notes"], name).toMatchObject({ data: ["before"], timestamps: [0] });
    }
  });

  it("reads a series pynwb wrote in a processing module", async () => {
    const p = join(dir, "pynwb.nwb");
    pynwbWrite(p);
    const r = await NwbFileReader.open(p);
    try {
      const [found] = r.findByType("AnnotationSeries");
      expect(readAnnotationSeries(r, found!.path)).toMatchObject({
        name: "notes",
        description: "pynwb notes",
        data: ["first", "second ✓"],
        timestamps: [0.5, 1.5],
      });
      expect(() => readAnnotationSeries(r, "intervals/trials_like")).toThrow(/is not an AnnotationSeries/);
    } finally {
      r.close();
    }
  });
});
