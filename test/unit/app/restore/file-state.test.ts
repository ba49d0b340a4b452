/**
 * restore's reader of the state at T, on files `convert` writes (JSON rows): the last event of each
 * component at or before T, a change at exactly T in effect at T, a row stored later (ascending
 * series) at its own time, and a file without JSON rows refused as a wrong call.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readStateFromAnnotations } from "../../../../src/app/restore/file-state.js";
import { restore } from "../../../../src/app/restore/restore.js";
import { convertLog } from "../../../../src/app/convert/convert-log.js";
import { jsonObject, type JsonValue } from "../../../../src/events/json.js";

const dir = mkdtempSync(join(tmpdir(), "restore-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function line(seq: number, t: number, component: string, type: "INITIAL" | "UPDATED", settings: string): string {
  return `{"seq": ${seq}, "timestamp": ${t}, "component_address": "${component}", "event_type": "${type}", "repr_value": ${settings}, "structured_value": ${settings}, "source_session_id": "s"}`;
}

async function convert(name: string, lines: string[], sinks: ("annotations" | "table")[] = ["annotations"]): Promise<string> {
  const log = join(dir, `${name}.jsonl`);
  writeFileSync(log, `${lines.join("\n")}\n`);
  const out = join(dir, `${name}.nwb`);
  await convertLog(log, out, { sinks, timeOrigin: "raw", meta: { session_description: "restore" }, overwrite: false });
  return out;
}

const settingsAt = async (file: string, t: number): Promise<Record<string, JsonValue>> =>
  Object.fromEntries([...(await readStateFromAnnotations(file, t)).components].map(([k, v]) => [k, v.settings]));

describe("restore: the state at T from JSON rows", () => {
  it("takes each component's last event at or before T", async () => {
    const file = await convert("basic", [
      line(1, 1.0, "A", "INITIAL", '{"g": 1.0}'),
      line(2, 1.0, "B", "INITIAL", '{"n": 1}'),
      line(3, 1.0, "__init_final__", "INITIAL", "null"),
      line(4, 2.0, "A", "UPDATED", '{"g": 2.0}'),
      line(5, 3.0, "B", "UPDATED", '{"n": 2}'),
      line(6, 4.0, "A", "UPDATED", '{"g": 3.0}'),
    ]);
    expect(await settingsAt(file, 0.5)).toEqual({});
    expect(await settingsAt(file, 1.0)).toEqual({ A: jsonObject({ g: 1.0 }), B: jsonObject({ n: 1n }) });
    expect(await settingsAt(file, 2.0)).toEqual({ A: jsonObject({ g: 2.0 }), B: jsonObject({ n: 1n }) });
    expect(await settingsAt(file, 2.999999)).toEqual({ A: jsonObject({ g: 2.0 }), B: jsonObject({ n: 1n }) });
    expect(await settingsAt(file, 3.5)).toEqual({ A: jsonObject({ g: 2.0 }), B: jsonObject({ n: 2n }) });
    expect(await settingsAt(file, 100)).toEqual({ A: jsonObject({ g: 3.0 }), B: jsonObject({ n: 2n }) });
    const s = await readStateFromAnnotations(file, 3.5);
    expect([...s.components.values()].map((c) => [c.component, c.time, c.seq])).toEqual([
      ["A", 2.0, 4],
      ["B", 3.0, 5],
    ]);
    expect(s.files).toEqual([file]);
  });

  it("restore refuses a time before the recording's first settings (exit 2)", async () => {
    const file = await convert("early", [line(1, 5.0, "A", "INITIAL", '{"g": 1.0}')]);
    await expect(restore(file, { at: 1, to: "ezmsg://127.0.0.1:9" })).rejects.toMatchObject({
      code: "ERR_USAGE",
      message: expect.stringMatching(/no settings were in effect at 1 s .* its settings start at 5 s/),
    });
  });

  it("takes --at as show does: a wall-clock time of day or an ISO date-time, on the file's reference time", async () => {
    const file = await convert("clock", [
      line(1, 1.0, "A", "INITIAL", '{"g": 1.0}'),
      line(2, 2.0, "A", "UPDATED", '{"g": 2.0}'),
      line(3, 3.0, "A", "UPDATED", '{"g": 3.0}'),
    ]);
    const { referenceTime } = await readStateFromAnnotations(file, 0);
    const ref = Date.parse(referenceTime);
    const iso = new Date(ref + 2500).toISOString(); // 2.5 s of file time, as an ISO date-time (UTC)
    const atIso = await readStateFromAnnotations(file, iso);
    expect(atIso.at).toBeCloseTo(2.5, 6);
    expect(atIso.components.get("A")!.settings).toEqual(jsonObject({ g: 2.0 }));
    await expect(readStateFromAnnotations(file, "lunchtime")).rejects.toMatchObject({
      code: "ERR_USAGE",
      message: expect.stringMatching(/--at lunchtime: not a time/),
    });
  });

  it("uses the event's own time for a row the sink stored later", async () => {
    // A late INITIAL (t=1.5) after an update at t=2: stored at 2 with "timestamp": 1.5; the UPDATED of C at 2.5 wins after it.
    const file = await convert("late", [
      line(1, 1.0, "A", "INITIAL", '{"g": 1.0}'),
      line(2, 1.0, "__init_final__", "INITIAL", "null"),
      line(3, 2.0, "A", "UPDATED", '{"g": 2.0}'),
      line(4, 1.5, "C", "INITIAL", '{"x": "late"}'),
      line(5, 2.5, "C", "UPDATED", '{"x": "later"}'),
    ]);
    expect((await settingsAt(file, 1.7)).C).toEqual(jsonObject({ x: "late" }));
    expect((await settingsAt(file, 3)).C).toEqual(jsonObject({ x: "later" }));
  });

  it("refuses a file without JSON rows (exit 2), naming what it looked for", async () => {
    const file = await convert("table-only", [line(1, 1.0, "A", "INITIAL", '{"g": 1.0}'), line(2, 2.0, "A", "UPDATED", '{"g": 2.0}')], ["table"]);
    await expect(readStateFromAnnotations(file, 1)).rejects.toMatchObject({
      code: "ERR_USAGE",
      message: expect.stringMatching(/looked for AnnotationSeries whose rows are nwb-settings events/),
    });
    await expect(readStateFromAnnotations(join(dir, "missing.nwb"), 1)).rejects.toMatchObject({ code: "ERR_USAGE" });
  });
});
