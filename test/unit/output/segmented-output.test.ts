/** SegmentedOutput as an NwbOutput: its capabilities and the seams an attached output needs. */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isNwbSettingsError } from "../../../src/errors.js";
import { TimeIntervals } from "../../../src/nwb/time-intervals.js";
import type { NwbOutput } from "../../../src/output/output.js";
import { SegmentedOutput } from "../../../src/output/segmented-output.js";
import { TableSink } from "../../../src/sinks/table-sink.js";
import { readTable, updated } from "../sinks/table-read.js";

const dir = mkdtempSync(join(tmpdir(), "output-"));
const meta = { session_description: "output" };

describe("SegmentedOutput", () => {
  it("owns its files: may rotate, and removes a file that got no rows", async () => {
    const out: NwbOutput = new SegmentedOutput(join(dir, "own.nwb"), meta);
    expect(out.canRotate).toBe(true);
    expect(out.unlinksEmptyFiles).toBe(true);
    await out.current();
    out.countRows(2);
    await out.rotate();
    await out.close();
    // the empty segment is gone, and so is its entry: its name is free for the next one (#12)
    expect(out.segments.map((s) => [s.path, s.rows])).toEqual([[join(dir, "own.nwb"), 2]]);
    expect(existsSync(join(dir, "own.nwb"))).toBe(true);
    expect(existsSync(join(dir, "own_01.nwb"))).toBe(false);
  });

  it("refuses to close and reopen the file (a bool column) while it is held open", async () => {
    const out = new SegmentedOutput(join(dir, "held.nwb"), meta);
    const nwb = await out.current();
    const release = out.holdOpen("data stream ElectricalSeries open");
    const err = await TimeIntervals.create(nwb, "t", "d", [{ name: "b", type: "bool", description: "b" }]).catch((e: unknown) => e);
    expect(isNwbSettingsError(err, "ERR_OUTPUT_REFUSED")).toBe(true);
    expect((err as Error).message).toMatch(/held\.nwb: cannot close and reopen the file now \(data stream ElectricalSeries open\)/);
    release();
    const t = await TimeIntervals.create(nwb, "t2", "d", [{ name: "b", type: "bool", description: "b" }]);
    t.appendRowValues(0, 1, [true]);
    out.countRows();
    await out.close();
  });

  it("turns a failed flush into a fatal OutputError naming the file", async () => {
    const out = new SegmentedOutput(join(dir, "broken.nwb"), meta);
    const nwb = await out.current();
    nwb.file.close(); // the HDF5 handle goes away under the output
    let err: unknown;
    try {
      out.flush();
    } catch (e) {
      err = e;
    }
    expect(isNwbSettingsError(err, "ERR_OUTPUT_FAILED")).toBe(true);
    expect((err as Error).message).toContain(join(dir, "broken.nwb"));
  });

  it("an output that may not rotate refuses a schema change before the table changes", async () => {
    class NoRotation extends SegmentedOutput {
      override readonly canRotate: boolean = false;
    }
    const path = join(dir, "fixed.nwb");
    const out = new NoRotation(path, meta);
    const sink = new TableSink(out);
    await sink.write(updated(1, "A", '{"x": 1}'));
    const err = await sink.write(updated(2, "A", '{"x": "now text"}')).catch((e: unknown) => e);
    expect(isNwbSettingsError(err, "ERR_OUTPUT_REFUSED")).toBe(true);
    expect((err as Error).message).toMatch(/fixed\.nwb: the table would need a new file \(A\.x: dtype int64 -> /);
    await sink.write(updated(3, "A", '{"x": 7}')); // the table goes on in the same file
    await sink.close(4);
    await out.close();
    expect(out.segments.map((s) => s.path)).toEqual([path]);
    // The same as a run that never saw the refused event.
    const control = new SegmentedOutput(join(dir, "control.nwb"), meta);
    const controlSink = new TableSink(control);
    await controlSink.write(updated(1, "A", '{"x": 1}'));
    await controlSink.write(updated(3, "A", '{"x": 7}'));
    await controlSink.close(4);
    await control.close();
    expect((await readTable(path))!.rows).toEqual((await readTable(join(dir, "control.nwb")))!.rows);
  });
});
