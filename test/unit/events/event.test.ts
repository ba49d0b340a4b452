import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_TABLE_NAME, INIT_FINAL_COMPONENT_ADDRESS, isSentinel, makeSentinel, tableRowPayload } from "../../../src/events/event.js";
import { EventFormatError, parseEvent, serializeEvent } from "../../../src/events/event-codec.js";
import { parseJson, stringifyJson } from "../../../src/events/json.js";
import { readEventLog } from "../../../src/producer/sources/jsonl-log.js";

const line = (over: Record<string, string> = {}): string => {
  const fields: Record<string, string> = {
    seq: "7",
    timestamp: "1764340000.25",
    component_address: '"SYS/GAIN"',
    event_type: '"UPDATED"',
    repr_value: '{"gain": 2.0}',
    structured_value: '{"gain": 2.0, "n": 3}',
    source_session_id: '"abc"',
    table_name: '"settings_annotations"',
    ...over,
  };
  return `{${Object.entries(fields)
    .filter(([, v]) => v !== "")
    .map(([k, v]) => `"${k}": ${v}`)
    .join(", ")}}`;
};

describe("event codec", () => {
  it("parses every field with its type", () => {
    const e = parseEvent(line());
    expect(e.seq).toBe(7);
    expect(e.timestamp).toBe(1764340000.25);
    expect(e.component_address).toBe("SYS/GAIN");
    expect(e.event_type).toBe("UPDATED");
    expect(e.structured_value).toEqual(parseJson('{"gain": 2.0, "n": 3}'));
    expect(e.source_session_id).toBe("abc");
  });

  it("defaults optional fields as the seed does", () => {
    const e = parseEvent(line({ repr_value: "", structured_value: "", source_session_id: "", table_name: "" }));
    expect(e.repr_value).toBe("");
    expect(e.structured_value).toBeNull();
    expect(e.source_session_id).toBeNull();
    expect(e.table_name).toBe(DEFAULT_TABLE_NAME);
  });

  it("accepts an integer timestamp", () => {
    expect(parseEvent(line({ timestamp: "12" })).timestamp).toBe(12);
  });

  it.each([
    [{ seq: "-1" }, '"seq" must be a non-negative integer'],
    [{ seq: "1.5" }, '"seq" must be a non-negative integer'],
    [{ seq: "" }, '"seq" must be a non-negative integer below 2^53, got missing'],
    [{ seq: "9007199254740993" }, '"seq" must be a non-negative integer below 2^53'],
    [{ timestamp: '"now"' }, '"timestamp" must be a finite number'],
    [{ timestamp: "NaN" }, '"timestamp" must be a finite number'],
    [{ timestamp: "Infinity" }, '"timestamp" must be a finite number'],
    [{ component_address: "3" }, '"component_address" must be a string'],
    [{ component_address: "" }, '"component_address" must be a string, got missing'],
    [{ event_type: '"REMOVED"' }, '"event_type" must be "INITIAL" or "UPDATED", got "REMOVED"'],
    [{ repr_value: "[1]" }, '"repr_value" must be a string or an object'],
    [{ source_session_id: "5" }, '"source_session_id" must be a string or null'],
    [{ table_name: "[]" }, '"table_name" must be a string'],
  ])("rejects %j", (over, message) => {
    expect(() => parseEvent(line(over))).toThrow(EventFormatError);
    expect(() => parseEvent(line(over))).toThrow(message);
  });

  it("rejects a non-object line", () => {
    expect(() => parseEvent("[1, 2]")).toThrow("an event must be a JSON object, got an array");
  });

  it("serializes losslessly", () => {
    const e = parseEvent(line({ structured_value: '{"big": 12345678901234567890, "f": 1.0, "n": NaN}' }));
    expect(parseEvent(serializeEvent(e))).toEqual(e);
  });
});

describe("tableRowPayload (one AnnotationSeries row)", () => {
  it("gives json with component, event_type, seq, settings", () => {
    const row = stringifyJson(tableRowPayload(parseEvent(line())));
    expect(row).toEqual('{"component": "SYS/GAIN", "event_type": "UPDATED", "seq": 7, "settings": {"gain": 2.0, "n": 3}}');
  });

  it("falls back to repr_value when structured_value is null", () => {
    const row = stringifyJson(tableRowPayload(parseEvent(line({ structured_value: "null", repr_value: '"Gain(gain=2.0)"' }))));
    expect(row).toContain('"settings": "Gain(gain=2.0)"');
  });

  it("the sentinel has no row", () => {
    expect(isSentinel(makeSentinel(4, 1.0))).toBe(true);
    expect(makeSentinel(4, 1.0).component_address).toBe(INIT_FINAL_COMPONENT_ADDRESS);
  });
});

describe("readEventLog", () => {
  it("yields events and names file and line of each bad line, skipping blanks", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nwbs-"));
    const path = join(dir, "log.jsonl");
    await writeFile(path, `\uFEFF${line()}\n\n{broken\n${line({ seq: "8" })}\r\n${line({ event_type: '"X"' })}\n`);
    const recs = [];
    for await (const r of readEventLog(path)) recs.push(r);
    expect(recs.map((r) => r.kind)).toEqual(["event", "error", "event", "error"]);
    expect(recs[1]).toMatchObject({ line: 3 });
    expect((recs[1] as { message: string }).message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: expected a string key`));
    expect(recs[2]).toMatchObject({ line: 4, event: { seq: 8 } });
    expect((recs[3] as { message: string }).message).toContain(':5: "event_type" must be');
  });

  it("throws a clear error for a missing file", async () => {
    const it = readEventLog("/nonexistent/log.jsonl");
    await expect(it.next()).rejects.toThrow("ENOENT");
  });
});
