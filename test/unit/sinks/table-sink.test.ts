import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PipelineSettingsEvent } from "../../../src/events/event.js";
import { SegmentedOutput } from "../../../src/output/segmented-output.js";
import { AnnotationSink } from "../../../src/sinks/annotation-sink.js";
import { TableSink } from "../../../src/sinks/table-sink.js";
import { type ReadTable, initial, readTable, sentinel, tempDir, updated } from "./table-read.js";

async function run(events: PipelineSettingsEvent[], closeTime: number, options: { tableName?: string } = {}) {
  const dir = tempDir();
  const base = join(dir, "out.nwb");
  const output = new SegmentedOutput(base, { session_description: "table sink test" });
  const sink = new TableSink(output, options);
  for (const e of events) await sink.write(e);
  await sink.close(closeTime);
  await output.close();
  return { dir, base, output, sink, files: output.writtenSegments.map((s) => s.path) };
}

/** Rows as [start, stop, updated_component, ...cols]. */
function rows(t: ReadTable | undefined, ...cols: string[]): unknown[][] {
  if (!t) throw new Error("no table");
  return t.rows.map((r) => [r["start_time"], r["stop_time"], r["updated_component"], ...cols.map((c) => r[c])]);
}

describe("TableSink: INITIAL merge and intervals (no anchor rows)", () => {
  it("merges INITIALs into the first row, open from the first INITIAL's time, on the sentinel", async () => {
    const { base, files } = await run([initial(1, "A", '{"x": 1, "y": 2.5}'), initial(0.5, "B", '{"z": "s"}'), sentinel(1.2), updated(2, "A", '{"x": 5}')], 3);
    expect(files).toEqual([base]);
    const t = await readTable(base);
    expect(t!.colnames).toEqual(["start_time", "stop_time", "updated_component", "A.x", "A.y", "B.z"]);
    expect(rows(t, "A.x", "A.y", "B.z")).toEqual([
      [1, 2, "__init_final__", 1n, 2.5, "s"],
      [2, 3, "A", 5n, 2.5, "s"],
    ]);
  });

  it("a later INITIAL for the same field overwrites the buffered one", async () => {
    const { base } = await run([initial(1, "A", '{"x": 1}'), initial(2, "A", '{"x": 7}'), sentinel(3)], 4);
    expect(rows(await readTable(base), "A.x")).toEqual([[1, 4, "__init_final__", 7n]]);
  });

  it("flushes the buffer first when an UPDATED arrives before the sentinel (sentinel lost)", async () => {
    const { base } = await run([initial(1, "A", '{"x": 1}'), initial(1.5, "B", '{"y": 2}'), updated(2, "B", '{"y": 3}')], 5);
    expect(rows(await readTable(base), "A.x", "B.y")).toEqual([
      [1, 2, "__init_final__", 1n, 2n],
      [2, 5, "B", 1n, 3n],
    ]);
  });

  it("first event with nothing buffered: the first row opens at its time, for its component", async () => {
    const { base } = await run([updated(3, "A", '{"x": 1}'), updated(4, "A", '{"x": 2}')], 6);
    expect(rows(await readTable(base), "A.x")).toEqual([
      [3, 4, "A", 1n],
      [4, 6, "A", 2n],
    ]);
  });

  it("an INITIAL after the table exists is an ordinary update", async () => {
    const { base } = await run([initial(1, "A", '{"x": 1}'), sentinel(1), initial(2, "A", '{"x": 2}')], 3);
    expect(rows(await readTable(base), "A.x")).toEqual([
      [1, 2, "__init_final__", 1n],
      [2, 3, "A", 2n],
    ]);
  });

  it("close flushes still-buffered INITIALs and the open interval", async () => {
    const { base } = await run([initial(1, "A", '{"x": 1}'), initial(2, "B", '{"y": true}')], 9);
    expect(rows(await readTable(base), "A.x", "B.y")).toEqual([[1, 9, "__init_final__", 1n, 1]]);
  });

  it("a component update keeps the fields it did not send", async () => {
    const { base } = await run([updated(1, "A", '{"x": 1, "y": 2}'), updated(2, "A", '{"y": 3}')], 3);
    expect(rows(await readTable(base), "A.x", "A.y")).toEqual([
      [1, 2, "A", 1n, 2n],
      [2, 3, "A", 1n, 3n],
    ]);
  });

  it("merges a change at the instant the open state began into that row (no zero-length row)", async () => {
    const { base } = await run(
      [
        initial(1, "A", '{"x": 1, "y": 1}'),
        sentinel(1),
        updated(1, "A", '{"x": 2}'),
        updated(1, "B", '{"z": 1}'),
        updated(2, "A", '{"y": 5}'),
        updated(2, "A", '{"x": 3}'),
      ],
      4,
    );
    // B.z is a new column at t=1: the merged state rotates; nothing of length 0 stays behind
    expect(rows(await readTable(base), "A.x", "A.y", "B.z")).toEqual([
      [1, 2, "__init_final__", 2n, 1n, 1n],
      [2, 4, "A", 3n, 5n, 1n],
    ]);
  });

  it("merges an event earlier than the open state's start (out of time order) into it", async () => {
    const { base } = await run([updated(5, "A", '{"x": 1}'), updated(4, "A", '{"x": 2}')], 6);
    expect(rows(await readTable(base), "A.x")).toEqual([[5, 6, "A", 2n]]);
  });

  it("ends the last interval with NaN when the close time is not after its start", async () => {
    const { base } = await run([updated(1, "A", '{"x": 1}'), updated(2, "A", '{"x": 2}')], 2);
    const r = rows(await readTable(base), "A.x");
    expect(r[0]).toEqual([1, 2, "A", 1n]);
    expect(r[1]![0]).toBe(2);
    expect(r[1]![1]).toBeNaN();
  });

  it("writes no file when no event produces a row (sentinel only, empty settings)", async () => {
    const { base, files } = await run([sentinel(1), updated(2, "A", "{}"), initial(3, "B", "{}"), sentinel(4)], 5);
    expect(files).toEqual([]);
    expect(existsSync(base)).toBe(false);
  });

  it("uses a non-dataclass repr string as a `value` text column", async () => {
    const e = updated(1, "A", "null");
    e.repr_value = "Settings(gain=2)";
    const { base } = await run([e], 2);
    expect(rows(await readTable(base), "A.value")).toEqual([[1, 2, "A", "Settings(gain=2)"]]);
  });

  it("honours the tableName option and rejects names HDF5 cannot hold", async () => {
    const { base } = await run([updated(1, "A", '{"x": 1}')], 2, { tableName: "my_settings" });
    expect(await readTable(base, "my_settings")).toBeDefined();
    const out = new SegmentedOutput(join(tempDir(), "x.nwb"), { session_description: "t" });
    expect(() => new TableSink(out, { tableName: "a/b" })).toThrow(/cannot name/);
  });
});

describe("TableSink: native types", () => {
  it("keeps int64 (past 2^53), float64 (NaN, inf), bool, UTF-8 text and fixed-shape arrays", async () => {
    const settings =
      '{"i": 9007199254740993, "neg": -9223372036854775808, "f": 1.0, "nan": NaN, "inf": -Infinity, "b": false, "s": "héllo ✓ 𝄞",' +
      ' "m": [[1, 2, 3], [4, 5, 6]], "fa": [0.5, 1.5], "ba": [true, false, true], "sa": ["a", "β"], "e": []}';
    const { base } = await run([updated(1, "C", settings)], 2);
    const t = (await readTable(base))!;
    expect(t.dtypes).toMatchObject({ "C.i": "<q", "C.neg": "<q", "C.f": "<d", "C.nan": "<d", "C.s": "S", "C.m": "<q", "C.fa": "<d", "C.sa": "S" });
    const r = t.rows[0]!;
    expect(r["C.i"]).toBe(9007199254740993n);
    expect(r["C.neg"]).toBe(-9223372036854775808n);
    expect(r["C.f"]).toBe(1);
    expect(r["C.nan"]).toBeNaN();
    expect(r["C.inf"]).toBe(Number.NEGATIVE_INFINITY);
    expect(r["C.b"]).toBe(0);
    expect(r["C.s"]).toBe("héllo ✓ 𝄞");
    expect(r["C.m"]).toEqual({ shape: [2, 3], data: [1n, 2n, 3n, 4n, 5n, 6n] });
    expect(r["C.fa"]).toEqual({ shape: [2], data: [0.5, 1.5] });
    expect(r["C.ba"]).toEqual({ shape: [3], data: [1, 0, 1] });
    expect(r["C.sa"]).toEqual({ shape: [2], data: ["a", "β"] });
    expect(r["C.e"]).toEqual({ shape: [0], data: [] });
  });

  it("gives colliding sanitized names deterministic suffixes", async () => {
    const { base } = await run([initial(1, "a.b", '{"c": 1}'), initial(1, "a", '{"b": {"c": 2}}'), sentinel(1)], 2);
    expect(rows(await readTable(base), "a.b.c", "a.b.c__2")[0]).toEqual([1, 2, "__init_final__", 1n, 2n]);
  });

  it("never names a column '.' (the table group itself)", async () => {
    const { base } = await run([updated(1, "é", '{"ü": 1}')], 2);
    const t = await readTable(base);
    expect(t!.colnames).toHaveLength(4);
    expect(t!.colnames[3]).not.toMatch(/^\.+$/);
  });
});

describe("TableSink: schema rotation", () => {
  it("a new column rotates: the old segment's last row ends there, the merged state opens the new one", async () => {
    const { base, dir, files, sink } = await run(
      [updated(1, "A", '{"x": 1}'), updated(2, "A", '{"x": 2}'), updated(3, "B", '{"y": "new"}'), updated(4, "A", '{"x": 3}')],
      5,
    );
    expect(files).toEqual([base, join(dir, "out_01.nwb")]);
    expect(rows(await readTable(base), "A.x")).toEqual([
      [1, 2, "A", 1n],
      [2, 3, "A", 2n],
    ]);
    const seg1 = await readTable(files[1]!);
    expect(seg1!.colnames).toEqual(["start_time", "stop_time", "updated_component", "A.x", "B.y"]);
    expect(rows(seg1, "A.x", "B.y")).toEqual([
      [3, 4, "B", 2n, "new"],
      [4, 5, "A", 3n, "new"],
    ]);
    expect(sink.rotations).toEqual([{ time: 3, component: "B", reasons: ["new column B.y"] }]);
  });

  it.each([
    ["scalar -> array", '{"v": 1}', '{"v": [1, 2]}', { shape: [2], data: [1n, 2n] }],
    ["array -> scalar", '{"v": [1, 2]}', '{"v": 1}', 1n],
    ["array length", '{"v": [1, 2]}', '{"v": [1, 2, 3]}', { shape: [3], data: [1n, 2n, 3n] }],
    ["array rank", '{"v": [1, 2]}', '{"v": [[1, 2]]}', { shape: [1, 2], data: [1n, 2n] }],
    ["inner dims", '{"v": [[1, 2], [3, 4]]}', '{"v": [[1], [2]]}', { shape: [2, 1], data: [1n, 2n] }],
    ["int -> float", '{"v": 1}', '{"v": 1.5}', 1.5],
    ["float -> int beyond 2^53", '{"v": 1.5}', '{"v": 9007199254740993}', 9007199254740993n],
    ["int -> string", '{"v": 1}', '{"v": "one"}', "one"],
    ["string -> float", '{"v": "x"}', '{"v": 2.0}', 2],
    ["bool -> int", '{"v": true}', '{"v": 1}', 1n],
    ["int -> bool", '{"v": 0}', '{"v": false}', 0],
    ["int array -> float array", '{"v": [1, 2]}', '{"v": [1, 2.5]}', { shape: [2], data: [1, 2.5] }],
  ])("%s rotates and keeps the value exact", async (_name, before, after, expected) => {
    const { base, dir, files } = await run([updated(1, "A", before), updated(2, "A", after)], 3);
    expect(files).toEqual([base, join(dir, "out_01.nwb")]);
    expect((await readTable(base))!.rows.map((r) => [r["start_time"], r["stop_time"]])).toEqual([[1, 2]]);
    const seg1 = (await readTable(files[1]!))!;
    expect(rows(seg1, "A.v")).toEqual([[2, 3, "A", expected]]);
  });

  it("same kind with a different value does not rotate", async () => {
    const { files } = await run([updated(1, "A", '{"v": [1, 2], "s": "a"}'), updated(2, "A", '{"v": [3, 4], "s": "bb"}')], 3);
    expect(files).toHaveLength(1);
  });

  it("rotates once per event however many columns change, and again on a second change", async () => {
    const { dir, files, sink } = await run([updated(1, "A", '{"x": 1}'), updated(2, "A", '{"x": 1.5, "y": 1, "z": [1]}'), updated(3, "A", '{"q": 1}')], 4);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(["out.nwb", "out_01.nwb", "out_02.nwb"]);
    expect(sink.rotations.map((r) => r.reasons)).toEqual([["A.x: dtype int64 -> float64", "new column A.y", "new column A.z"], ["new column A.q"]]);
    expect(rows(await readTable(files[2]!), "A.x", "A.y", "A.z", "A.q")).toEqual([[3, 4, "A", 1.5, 1n, { shape: [1], data: [1n] }, 1n]]);
  });

  it("an UPDATED after lost sentinel that needs rotation: the startup row ends in the old segment", async () => {
    const { files } = await run([initial(1, "A", '{"x": 1}'), updated(2, "B", '{"y": 1}')], 3);
    expect(rows(await readTable(files[0]!), "A.x")).toEqual([[1, 2, "__init_final__", 1n]]);
    expect(rows(await readTable(files[1]!), "A.x", "B.y")).toEqual([[2, 3, "B", 1n, 1n]]);
  });

  it("a rotation at the instant the only row began leaves no empty segment and reuses its name", async () => {
    const { base, files } = await run([initial(1, "A", '{"x": 1}'), sentinel(1), updated(1, "A", '{"x": "one"}'), updated(2, "A", '{"x": "two"}')], 3);
    expect(files).toEqual([base]);
    expect(rows(await readTable(base), "A.x")).toEqual([
      [1, 2, "__init_final__", "one"],
      [2, 3, "A", "two"],
    ]);
  });
});

describe("TableSink: JSON publishers' integers in float columns", () => {
  it("a float64 column takes an integer it holds exactly, as a float, without rotating", async () => {
    const { base, files } = await run(
      [
        updated(1, "A", '{"g": 1.5, "v": [0.5, 1.5]}'),
        updated(2, "A", '{"g": 2, "v": [1, 2]}'),
        updated(3, "A", '{"g": 2.5}'),
        updated(4, "A", '{"g": -9007199254740992}'),
      ],
      5,
    );
    expect(files).toEqual([base]);
    const t = (await readTable(base))!;
    expect(t.dtypes).toMatchObject({ "A.g": "<d", "A.v": "<d" });
    expect(rows(t, "A.g", "A.v")).toEqual([
      [1, 2, "A", 1.5, { shape: [2], data: [0.5, 1.5] }],
      [2, 3, "A", 2, { shape: [2], data: [1, 2] }],
      [3, 4, "A", 2.5, { shape: [2], data: [1, 2] }],
      [4, 5, "A", -9007199254740992, { shape: [2], data: [1, 2] }],
    ]);
  });

  it("an integer beyond 2^53 still rotates a float column; an int column rotates once on a fraction", async () => {
    const { files, sink } = await run(
      [
        updated(1, "A", '{"g": 1.5}'),
        updated(2, "A", '{"g": 9007199254740993}'),
        updated(3, "B", '{"n": 1}'),
        updated(4, "B", '{"n": 1.5}'),
        updated(5, "B", '{"n": 2}'),
      ],
      6,
    );
    expect(files).toHaveLength(4); // the last update (n = 2) is held by the now float64 column
    expect(sink.rotations.map((r) => r.reasons)).toEqual([["A.g: dtype float64 -> int64"], ["new column B.n"], ["B.n: dtype int64 -> float64"]]);
  });
});

describe("TableSink: robustness", () => {
  it("rejects NUL text naming component and field, before touching state", async () => {
    const dir = tempDir();
    const output = new SegmentedOutput(join(dir, "out.nwb"), { session_description: "t" });
    const sink = new TableSink(output);
    await sink.write(updated(1, "A", '{"x": 1}'));
    await expect(sink.write(updated(2, "A", '{"x": 2, "bad": "a\\u0000b"}'))).rejects.toThrow(/setting "bad" of component "A" contains a NUL/);
    await expect(sink.write(updated(2, "A", '{"arr": ["ok", "\\u0000"]}'))).rejects.toThrow(/setting "arr" of component "A"/);
    await expect(sink.write(updated(2, "A\u0000B", '{"x": 2}'))).rejects.toThrow(/component address "A\\u0000B" contains a NUL/);
    await sink.write(updated(3, "A", '{"x": 3}'));
    await sink.close(4);
    await output.close();
    expect(output.writtenSegments).toHaveLength(1);
    expect(rows(await readTable(join(dir, "out.nwb")), "A.x")).toEqual([
      [1, 3, "A", 1n],
      [3, 4, "A", 3n],
    ]);
  });

  it("leaves the file readable after every flush, the open row ending at the flush time", async () => {
    const dir = tempDir();
    const path = join(dir, "out.nwb");
    const output = new SegmentedOutput(path, { session_description: "t" });
    const sink = new TableSink(output);
    await sink.write(initial(1, "A", '{"x": 1, "s": "a"}'));
    await sink.write(sentinel(1));
    sink.flush();
    copyFileSync(path, join(dir, "snap0.nwb"));
    sink.flush(1.5);
    copyFileSync(path, join(dir, "snap1.nwb"));
    await sink.write(updated(2, "A", '{"x": 2, "s": "b"}'));
    await sink.write(updated(3, "A", '{"x": 3}'));
    sink.flush(3.25);
    copyFileSync(path, join(dir, "snap2.nwb"));
    await sink.close(4);
    await output.close();
    const snap0 = rows(await readTable(join(dir, "snap0.nwb")), "A.x");
    expect(snap0).toHaveLength(1);
    expect(snap0[0]![1]).toBeNaN(); // no time known after its start yet
    expect(rows(await readTable(join(dir, "snap1.nwb")), "A.x")).toEqual([[1, 1.5, "__init_final__", 1n]]);
    expect(rows(await readTable(join(dir, "snap2.nwb")), "A.x", "A.s")).toEqual([
      [1, 2, "__init_final__", 1n, "a"],
      [2, 3, "A", 2n, "b"],
      [3, 3.25, "A", 3n, "b"],
    ]);
    expect(rows(await readTable(path), "A.x", "A.s")).toEqual([
      [1, 2, "__init_final__", 1n, "a"],
      [2, 3, "A", 2n, "b"],
      [3, 4, "A", 3n, "b"],
    ]);
  });

  it("shares one output with the JSON-row sink; a rotation moves both to the next segment", async () => {
    const dir = tempDir();
    const path = join(dir, "both.nwb");
    const output = new SegmentedOutput(path, { session_description: "t" });
    const sinks = [new AnnotationSink(output), new TableSink(output)];
    const events = [initial(1, "A", '{"x": 1}'), sentinel(1), updated(2, "A", '{"x": 2}'), updated(3, "A", '{"y": 1}'), updated(4, "A", '{"x": 5}')];
    for (const e of events) for (const s of sinks) await s.write(e);
    for (const s of sinks) await s.close(5);
    await output.close();
    expect(output.writtenSegments.map((s) => s.rows)).toEqual([3 + 2, 1 + 2]);
    expect(rows(await readTable(join(dir, "both_01.nwb")), "A.x", "A.y")).toEqual([
      [3, 4, "A", 2n, 1n],
      [4, 5, "A", 5n, 1n],
    ]);
  });

  it("recreates its table, carrying the open state, when another writer rotates the output", async () => {
    const dir = tempDir();
    const output = new SegmentedOutput(join(dir, "out.nwb"), { session_description: "t" });
    const sink = new TableSink(output);
    await sink.write(updated(1, "A", '{"x": 1}'));
    await output.rotate();
    await sink.write(updated(2, "A", '{"x": 2}'));
    await sink.close(3);
    await output.close();
    expect(rows(await readTable(join(dir, "out_01.nwb")), "A.x")).toEqual([
      [1, 2, "A", 1n],
      [2, 3, "A", 2n],
    ]);
  });

  it("refuses writes after close", async () => {
    const { sink } = await run([updated(1, "A", '{"x": 1}')], 2);
    await expect(sink.write(updated(3, "A", '{"x": 1}'))).rejects.toThrow(/closed/);
  });
});
