import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { EventRejectedError, OutputError } from "../../../src/errors.js";
import type { PipelineSettingsEvent } from "../../../src/events/event.js";
import { describeNwb } from "../../../src/nwb/describe.js";
import { SegmentedOutput } from "../../../src/output/segmented-output.js";
import type { SettingsSink } from "../../../src/sinks/sink.js";
import { SinkSet } from "../../../src/sinks/sink-set.js";
import { initial, sentinel, tempDir, updated } from "./table-read.js";

const META = { session_description: "sink write test" };

/** A sink that records what it was given and fails as told, synchronously or not. */
function fakeSink(log: string[], name: string, behaviour: { sync: boolean; fail?: string; refuse?: string }): SettingsSink {
  return {
    check(e) {
      if (behaviour.refuse) throw new Error(behaviour.refuse);
      log.push(`${name} check ${e.seq}`);
    },
    write(e: PipelineSettingsEvent) {
      log.push(`${name} write ${e.seq}`);
      if (behaviour.sync) {
        if (behaviour.fail) throw new Error(behaviour.fail);
        return undefined;
      }
      return behaviour.fail ? Promise.reject(new Error(behaviour.fail)) : Promise.resolve();
    },
    flush() {},
    async close() {},
  };
}

describe("SinkSet.write", () => {
  it("takes a JSON row without a promise once the file is open, and returns one whenever it must wait", async () => {
    const base = join(tempDir("sink-write-"), "out.nwb");
    const output = new SegmentedOutput(base, { session_description: "sync write test" });
    const sinks = new SinkSet(["annotations"], output);
    expect(sinks.write(initial(1, "A", '{"x": 1}'))).toBeUndefined(); // held for the snapshot
    const snapshot = sinks.write(sentinel(1)); // opens the file: must be awaited
    expect(snapshot).toBeInstanceOf(Promise);
    await snapshot;
    for (let i = 0; i < 5; i++) expect(sinks.write(updated(2 + i, "A", `{"x": ${i}}`))).toBeUndefined();
    // a component that joins later: its INITIAL run is held, the next row drains it first (async)
    expect(sinks.write(initial(8, "B", '{"y": 2.5}'))).toBeUndefined();
    const drained = sinks.write(updated(9, "A", '{"x": 9}'));
    expect(drained).toBeInstanceOf(Promise);
    await drained;
    await sinks.close(10);
    await output.close();
    const rows = (await describeNwb(base)).find((o) => o.path === "/acquisition/settings_annotations")?.rows;
    expect(rows).toBe(8); // A's INITIAL, five changes, B's INITIAL, A's last change
  });

  it("returns a promise while the output is opening its next file", async () => {
    const base = join(tempDir("sink-write-"), "out.nwb");
    const output = new SegmentedOutput(base, { session_description: "sync write test" });
    const sinks = new SinkSet(["annotations"], output);
    for (const e of [initial(1, "A", '{"x": 1}'), sentinel(1)]) await sinks.write(e);
    const rotating = output.rotate();
    expect(output.ready).toBeUndefined();
    const pending = sinks.write(updated(2, "A", '{"x": 2}'));
    expect(pending).toBeInstanceOf(Promise);
    await rotating;
    await pending;
    expect(output.ready).toBe(output.open);
    expect(sinks.write(updated(3, "A", '{"x": 3}'))).toBeUndefined();
    await sinks.close(4);
    await output.close();
  });

  it("checks every sink before any writes; a refusal is thrown at the call as an EventRejectedError", () => {
    const log: string[] = [];
    const sinks = new SinkSet([], new SegmentedOutput(join(tempDir("sink-write-"), "x.nwb"), META));
    sinks.sinks.push(fakeSink(log, "a", { sync: true }), fakeSink(log, "b", { sync: true, refuse: "no table for you" }));
    expect(() => sinks.write(updated(1, "A", "{}"))).toThrow(EventRejectedError);
    expect(log.some((l) => l.includes("write"))).toBe(false);
  });

  it("a synchronous write failure is an OutputError thrown at the call; an asynchronous one rejects as one", async () => {
    const out = join(tempDir("sink-write-"), "x.nwb");
    const log: string[] = [];
    const syncFailing = new SinkSet([], new SegmentedOutput(out, META));
    syncFailing.sinks.push(fakeSink(log, "a", { sync: true, fail: "disk full" }), fakeSink(log, "b", { sync: true }));
    expect(() => syncFailing.write(updated(1, "A", "{}"))).toThrow(OutputError);
    expect(() => syncFailing.write(updated(1, "A", "{}"))).toThrow(/cannot write .*x\.nwb: disk full/);
    expect(log).not.toContain("b write 1"); // the set stops at the first failure, as before

    const asyncFailing = new SinkSet([], new SegmentedOutput(out, META));
    asyncFailing.sinks.push(fakeSink(log, "c", { sync: false, fail: "I/O error" }));
    const p = asyncFailing.write(updated(2, "A", "{}"));
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toThrow(OutputError);
  });

  it("after one sink answers with a promise, the later sinks are written in order once it settles", async () => {
    const log: string[] = [];
    const sinks = new SinkSet([], new SegmentedOutput(join(tempDir("sink-write-"), "x.nwb"), META));
    sinks.sinks.push(fakeSink(log, "a", { sync: true }), fakeSink(log, "b", { sync: false }), fakeSink(log, "c", { sync: true }));
    const e = updated(1, "A", "{}");
    const p = sinks.write(e);
    expect(p).toBeInstanceOf(Promise);
    expect(log).toEqual([`a check ${e.seq}`, `b check ${e.seq}`, `c check ${e.seq}`, `a write ${e.seq}`, `b write ${e.seq}`]);
    await p;
    expect(log.slice(-1)).toEqual([`c write ${e.seq}`]);
  });
});
