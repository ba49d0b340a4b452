/**
 * NwbFile / NwbFileReader: created, opened to append, read; read-only capability in the type;
 * objects found by neurodata_type in a file we did not write. The truth is pynwb (nwb_types.py).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isNwbSettingsError } from "../../../src/errors.js";
import { AnnotationSeries } from "../../../src/nwb/annotation-series.js";
import { openHdf5 } from "../../../src/nwb/hdf5/h5wasm.js";
import { NwbFile, NwbFileReader } from "../../../src/nwb/nwb-file.js";
import { pynwbRead, pynwbWrite } from "./pynwb.js";

const dir = mkdtempSync(join(tmpdir(), "nwb-file-"));
const meta = { session_description: "round trip", identifier: "id-123", session_start_time: new Date("2026-03-04T05:06:07Z") };

describe("NwbFile", () => {
  it("is created as pynwb reads it, and read back by our reader", async () => {
    const p = join(dir, "created.nwb");
    (await NwbFile.create(p, meta)).close();
    const py = pynwbRead(p);
    expect(py.validate).toEqual([]);
    expect(py.identifier).toBe("id-123");
    expect(py.session_description).toBe("round trip");
    expect(py.session_start_time).toBe("2026-03-04T05:06:07+00:00");
    const r = await NwbFileReader.open(p);
    try {
      expect(r.info()).toMatchObject({ identifier: "id-123", sessionDescription: "round trip", nwbVersion: "2.11.0" });
      expect(r.info().sessionStartTime.startsWith("2026-03-04T05:06:07")).toBe(true);
    } finally {
      r.close();
    }
  });

  it("makes later files of a process from a copy of the fixed layout: each valid, with its own identity", async () => {
    const files = [0, 1, 2].map((i) => join(dir, `series-${i}.nwb`));
    for (const [i, p] of files.entries()) {
      const nwb = await NwbFile.create(p, { ...meta, identifier: `id-${i}`, session_description: `file ${i}` });
      AnnotationSeries.create(nwb, "notes", "per file").append(i, `row ${i}`);
      nwb.close();
    }
    const ids = new Set<unknown>();
    for (const [i, p] of files.entries()) {
      const py = pynwbRead(p);
      expect(py.validate).toEqual([]);
      expect([py.identifier, py.session_description]).toEqual([`id-${i}`, `file ${i}`]);
      expect(py.annotations["notes"]?.data).toEqual([`row ${i}`]);
      const { file } = await openHdf5(p, "r");
      try {
        ids.add(file.attrs["object_id"]?.value);
        expect(file.attrs["nwb_version"]?.value).toBe("2.11.0");
      } finally {
        file.close();
      }
    }
    expect(ids.size).toBe(3);
    // a path that exists is refused, as when HDF5 creates the file itself
    await expect(NwbFile.create(files[0]!, meta)).rejects.toThrow(/cannot create .*series-0\.nwb/);
  });

  it("is opened to append: objects added later are read by pynwb with the file still valid", async () => {
    const p = join(dir, "append.nwb");
    (await NwbFile.create(p, meta)).close();
    const nwb = await NwbFile.open(p);
    AnnotationSeries.create(nwb, "later", "added on append").append(1.25, "hello");
    nwb.close();
    const py = pynwbRead(p);
    expect(py.validate).toEqual([]);
    expect(py.annotations["later"]).toEqual({ description: "added on append", data: ["hello"], timestamps: [1.25] });
  });

  it("opened read-only gives a reader with no way to write", async () => {
    const p = join(dir, "ro.nwb");
    (await NwbFile.create(p, meta)).close();
    const r = await NwbFileReader.open(p);
    try {
      expect(r).not.toBeInstanceOf(NwbFile);
      // Capabilities are in the type: these lines only compile because of the expect-error marks.
      // @ts-expect-error a reader cannot create groups
      expect(r.group).toBeUndefined();
      // @ts-expect-error a reader cannot create datasets
      expect(r.createAppendable).toBeUndefined();
      // @ts-expect-error a reader cannot flush
      expect(r.flush).toBeUndefined();
    } finally {
      r.close();
    }
  });

  it("refuses what is not NWB with a coded error naming the file", async () => {
    const p = join(dir, "not.nwb");
    writeFileSync(p, "not hdf5");
    const err = await NwbFileReader.open(p).catch((e: unknown) => e);
    expect(isNwbSettingsError(err, "ERR_NWB")).toBe(true);
    expect((err as Error).message).toContain(p);
  });

  it("finds objects by neurodata_type in a file pynwb wrote, wherever they are", async () => {
    const p = join(dir, "pynwb.nwb");
    pynwbWrite(p);
    const r = await NwbFileReader.open(p);
    try {
      expect(r.findByType("AnnotationSeries").map((o) => o.path)).toEqual(["processing/behavior/notes"]);
      expect(r.findByType("TimeIntervals").map((o) => o.path)).toEqual(["intervals/trials_like"]);
      expect(r.findByType("ProcessingModule")[0]).toMatchObject({ path: "processing/behavior", namespace: "core", kind: "group" });
      expect(r.info().identifier).toBe("pynwb-file");
    } finally {
      r.close();
    }
  });
});
