/**
 * The log reader on a second thread (src/producer/sources/jsonl-log-ahead.ts) gives exactly the
 * records of the one-thread reader: events with the same values and types, errors with the same
 * words and line numbers, the end record, progress to the last byte. Runs the built modules
 * (`npm run build`): the reading thread is a compiled file.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PipelineSettingsEvent } from "../../../../src/events/event.js";
import { settingsPayloadText } from "../../../../src/events/event.js";
import { stringifyJson } from "../../../../src/events/json.js";
import type { LogRecord } from "../../../../src/producer/sources/jsonl-log.js";
import { readEventLog } from "../../../../src/producer/sources/jsonl-log.js";

type Ahead = typeof import("../../../../src/producer/sources/jsonl-log-ahead.js");
const built = new URL("../../../../dist/producer/sources/jsonl-log-ahead.js", import.meta.url);
let ahead: Ahead;
const fixtures = new URL("../../../fixtures/logs/", import.meta.url);
let dir: string;
let log: string;

beforeAll(async () => {
  ahead = (await import(built.href)) as Ahead;
  dir = await mkdtemp(join(tmpdir(), "nwbs-ahead-"));
  // Every fixture, many times over (several batches), and the lines a reader must report.
  const parts: Buffer[] = [Buffer.from("\uFEFF")];
  for (let round = 0; round < 60; round++) {
    for (const name of ["pipeline", "edge_values", "numbers", "unicode", "nested", "multi_table", "malformed"]) {
      parts.push(await readFile(new URL(`${name}.jsonl`, fixtures)));
    }
    parts.push(
      Buffer.from(
        `{"seq": 1, "timestamp": 2.0, "component_address": "X/${"y".repeat(3000)}", "event_type": "UPDATED", "repr_value": "", "structured_value": null}\n`,
      ),
    );
    parts.push(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])); // not UTF-8
    parts.push(
      Buffer.from(
        '{"seq": 7, "timestamp": 3, "component_address": "A/b", "event_type": "UPDATED", "repr_value": {"f": 2.0, "e": 1E3, "s": "\\u00e9"}, "structured_value": {"f": 2.0, "i": 2, "n": -0}}\r\n\n',
      ),
    );
  }
  parts.push(Buffer.from('{"nwb_settings_end": {"timestamp": 99.5}}\n{"seq": 1'));
  log = join(dir, "mixed.jsonl");
  await writeFile(log, Buffer.concat(parts));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function describeEvent(e: PipelineSettingsEvent): unknown {
  return {
    seq: e.seq,
    timestamp: e.timestamp,
    component_address: e.component_address,
    event_type: e.event_type,
    repr: stringifyJson(e.repr_value),
    structured: stringifyJson(e.structured_value),
    payload: settingsPayloadText(e),
    source_session_id: e.source_session_id,
    table_name: e.table_name,
  };
}

function comparable(r: LogRecord): unknown {
  return r.kind === "event" ? { kind: r.kind, line: r.line, event: describeEvent(r.event) } : r;
}

async function collect(records: AsyncIterable<LogRecord>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const r of records) out.push(comparable(r));
  return out;
}

describe("reading a log on a second thread", () => {
  it("yields exactly the records of the one-thread reader, and progress to the last byte", async () => {
    const options = { maxLineBytes: 2048 };
    const expected = await collect(readEventLog(log, options));
    const progress: number[] = [];
    const got = await collect(ahead.readEventLogAhead(log, { ...options, thread: "always", onBytes: (n) => progress.push(n) }));
    expect(expected.length).toBeGreaterThan(3000);
    expect(expected.some((r) => (r as LogRecord).kind === "error")).toBe(true);
    expect(expected.some((r) => (r as LogRecord).kind === "end")).toBe(true);
    expect(got).toEqual(expected);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe((await stat(log)).size);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it("keeps 2 and 2.0 apart through the thread", async () => {
    const records: LogRecord[] = [];
    for await (const r of ahead.readEventLogAhead(log, { thread: "always" })) if (r.kind === "event" && r.event.component_address === "A/b") records.push(r);
    const e = (records[0] as { event: PipelineSettingsEvent }).event;
    expect(stringifyJson(e.structured_value)).toBe('{"f": 2.0, "i": 2, "n": 0}');
    expect(stringifyJson(e.repr_value)).toBe('{"f": 2.0, "e": 1000.0, "s": "é"}');
  });

  it("stops its thread when the caller stops early", async () => {
    let n = 0;
    let during: string[] = [];
    for await (const _ of ahead.readEventLogAhead(log, { thread: "always" })) {
      if (n === 0) during = process.getActiveResourcesInfo();
      if (++n === 10) break;
    }
    expect(during).toContain("MessagePort");
    await new Promise((r) => setTimeout(r, 100));
    expect(process.getActiveResourcesInfo()).not.toContain("MessagePort");
  });

  it("throws the file's own error for a log that cannot be read", async () => {
    await expect(collect(ahead.readEventLogAhead(join(dir, "missing.jsonl"), { thread: "always" }))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("reads a short log in this thread unless told otherwise", async () => {
    const small = fileURLToPath(new URL("pipeline.jsonl", fixtures));
    expect(await collect(ahead.readEventLogAhead(small))).toEqual(await collect(readEventLog(small)));
    expect((await stat(small)).size).toBeLessThan(ahead.READ_AHEAD_BYTES);
  });
});
