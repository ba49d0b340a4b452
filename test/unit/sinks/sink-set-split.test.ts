import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeNwb } from "../../../src/nwb/describe.js";
import { SegmentedOutput } from "../../../src/output/segmented-output.js";
import { SinkSet } from "../../../src/sinks/sink-set.js";
import { initial, readTable, sentinel, tempDir, updated } from "./table-read.js";

describe("SinkSet.split (record --split-bytes)", () => {
  it("writes a held run of INITIAL events into the segment ending, and opens the next with that state", async () => {
    const base = join(tempDir("sink-split-"), "out.nwb");
    const output = new SegmentedOutput(base, { session_description: "split test" });
    const sinks = new SinkSet(["annotations", "table"], output);
    // an empty graph at the start, then a pipeline's components join: one run of INITIAL events
    for (const e of [sentinel(0), initial(1, "A", '{"x": 1}'), initial(1, "B", '{"y": 2.5}')]) await sinks.write(e);
    await sinks.split(2); // the data streams filled the first segment before any setting changed
    await sinks.write(updated(3, "A", '{"x": 5}'));
    await sinks.close(4);
    const files = output.writtenSegments.map((s) => s.path);
    expect(files).toEqual([base, join(base, "..", "out_01.nwb")]);
    const rows = async (path: string) => (await readTable(path))!.rows.map((r) => [r["start_time"], r["stop_time"], r["A.x"], r["B.y"]]);
    expect(await rows(files[0]!)).toEqual([[1, 2, 1n, 2.5]]);
    expect(await rows(files[1]!)).toEqual([
      [1, 3, 1n, 2.5],
      [3, 4, 5n, 2.5],
    ]);
    const annotations = async (path: string) => (await describeNwb(path)).find((o) => o.path === "/acquisition/settings_annotations")?.rows;
    expect(await annotations(files[0]!)).toBe(2);
    expect(await annotations(files[1]!)).toBe(3); // A and B carried over, then A's change
  });
});
