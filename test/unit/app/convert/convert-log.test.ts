/**
 * convert reads a log once: the earliest timestamp (file time is seconds since it) is taken from
 * the first records, and only a log whose later event is earlier still is converted again from a
 * full scan. Both paths must give the same file as a two-pass conversion would.
 */
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { convertLog } from "../../../../src/app/convert/convert-log.js";
import { h5wasm, loadHdf5 } from "../../../../src/nwb/hdf5/h5wasm.js";

const line = (seq: number, t: number, type = "UPDATED", address = "SYS/A") =>
  JSON.stringify({ seq, timestamp: t, component_address: address, event_type: type, repr_value: "", structured_value: { x: seq } });

async function readSeries(path: string): Promise<{ times: number[]; rows: string[]; start: string }> {
  await loadHdf5();
  const f = new h5wasm.File(path, "r");
  try {
    const ts = (f.get("acquisition/settings_annotations/timestamps") as InstanceType<typeof h5wasm.Dataset>).value as Float64Array;
    const data = (f.get("acquisition/settings_annotations/data") as InstanceType<typeof h5wasm.Dataset>).value as string[];
    const start = (f.get("session_start_time") as InstanceType<typeof h5wasm.Dataset>).value as string;
    return { times: [...ts], rows: data, start };
  } finally {
    f.close();
  }
}

describe("convertLog time origin", () => {
  it("measures file time from the earliest event even when it comes after the look-ahead", async () => {
    const dir = mkdtempSync(join(tmpdir(), "convert-once-"));
    const log = join(dir, "late-earliest.jsonl");
    const n = 5000; // longer than the look-ahead (4096 records)
    const lines = [line(0, 1_764_340_010.0, "INITIAL"), line(1, 1_764_340_010.5, "INITIAL", "__init_final__")];
    for (let i = 2; i < n; i++) lines.push(line(i, 1_764_340_010.5 + i / 1000));
    lines.push(line(n, 1_764_340_000.0)); // 10 s before everything else
    writeFileSync(log, `${lines.join("\n")}\n`);
    // An existing output is replaced (--overwrite), also after the first attempt was discarded.
    writeFileSync(join(dir, "out.nwb"), "old");
    const r = await convertLog(log, join(dir, "out.nwb"), {
      sinks: ["annotations"],
      timeOrigin: "first-event",
      meta: { session_description: "t" },
      overwrite: true,
    });
    expect(r.problems).toEqual([]);
    expect(r.outputs).toEqual([join(dir, "out.nwb")]);
    expect(readdirSync(dir).sort()).toEqual(["late-earliest.jsonl", "out.nwb"]);
    const { times, start } = await readSeries(join(dir, "out.nwb"));
    expect(times.length).toBe(n);
    expect(times[0]).toBeCloseTo(10.0, 9);
    expect(start).toMatch(/^2025-11-28T14:26:40(\.000)?/);
    // Stored times never go backwards: the late, early event is stored at the previous time.
    expect(times[n - 1]).toBe(times[n - 2]);
  });

  it("a short log too: its first event goes to the sinks after the snapshot, an earlier one later restarts it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "convert-once-"));
    const log = join(dir, "short-late-earliest.jsonl");
    const lines = [line(0, 100.0, "INITIAL"), line(1, 100.5, "INITIAL", "__init_final__")];
    for (let i = 2; i < 40; i++) lines.push(line(i, 100.5 + i));
    lines.push(line(40, 90.0)); // 10 s before everything else
    writeFileSync(log, `${lines.join("\n")}\n`);
    const r = await convertLog(log, join(dir, "out.nwb"), {
      sinks: ["annotations", "table"],
      timeOrigin: "first-event",
      meta: { session_description: "t" },
      overwrite: false,
    });
    expect(r.problems).toEqual([]);
    const { times } = await readSeries(join(dir, "out.nwb"));
    expect(times.length).toBe(40);
    expect(times[0]).toBeCloseTo(10.0, 9);
    // Without a restart (no full scan), the table's chunks are still sized for the log, not for
    // the default of a long recording: the log's lines bound its rows.
    const inOrder = join(dir, "short.jsonl");
    writeFileSync(inOrder, `${lines.slice(0, 40).join("\n")}\n`);
    await convertLog(inOrder, join(dir, "in-order.nwb"), { sinks: ["table"], timeOrigin: "first-event", meta: { session_description: "t" }, overwrite: false });
    const f = new h5wasm.File(join(dir, "in-order.nwb"), "r");
    try {
      const chunks = (f.get("intervals/pipeline_settings/start_time") as InstanceType<typeof h5wasm.Dataset>).metadata.chunks;
      expect(chunks?.[0]).toBeGreaterThanOrEqual(1);
      expect(chunks?.[0]).toBeLessThanOrEqual(64); // the next power of two above its 41 lines
    } finally {
      f.close();
    }
  });

  it("reads a short log once and writes nothing for a log without rows", async () => {
    const dir = mkdtempSync(join(tmpdir(), "convert-once-"));
    const log = join(dir, "short.jsonl");
    writeFileSync(log, `${[line(0, 5.0, "INITIAL"), line(1, 2.0, "INITIAL", "__init_final__"), line(2, 6.0)].join("\n")}\n`);
    const r = await convertLog(log, join(dir, "short.nwb"), {
      sinks: ["annotations"],
      timeOrigin: "first-event",
      meta: { session_description: "t" },
      overwrite: false,
    });
    expect(r.events).toBe(3);
    expect((await readSeries(join(dir, "short.nwb"))).times).toEqual([3.0, 4.0]);
    const empty = join(dir, "empty.jsonl");
    writeFileSync(empty, `${line(0, 1.0, "INITIAL", "__init_final__")}\n{bad\n`);
    writeFileSync(join(dir, "empty.nwb"), "keep me");
    const e = await convertLog(empty, join(dir, "empty.nwb"), {
      sinks: ["annotations"],
      timeOrigin: "first-event",
      meta: { session_description: "t" },
      overwrite: true,
    });
    expect(e).toMatchObject({ events: 0, outputs: [] });
    expect(e.problems).toHaveLength(1);
    expect(readdirSync(dir)).toContain("empty.nwb");
  });
});
