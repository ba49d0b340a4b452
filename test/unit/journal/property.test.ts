/**
 * Properties over generated settings trees and event streams (fast-check, fixed seed; override
 * with JOURNAL_PROPERTY_SEED / JOURNAL_PROPERTY_RUNS):
 * 1. journal → readJournal is lossless: every event comes back byte-identical when serialized,
 *    in order, with the clean-close time; a torn tail costs only the torn line;
 * 2. convert → pynwb reads every event: each non-sentinel event is one row of its series with
 *    exactly our row JSON (a `"timestamp"` key only where the stored time was clamped), read back
 *    by pynwb in one Python run for the whole batch.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { convertLog } from "../../../src/app/convert/convert-log.js";
import { INIT_FINAL_COMPONENT_ADDRESS, type PipelineSettingsEvent, isSentinel, tableRowPayload } from "../../../src/events/event.js";
import { serializeEvent } from "../../../src/events/event-codec.js";
import { type JsonValue, parseJson, stringifyJson } from "../../../src/events/json.js";
import { journalPathFor } from "../../../src/journal/format.js";
import { readJournal } from "../../../src/journal/reader.js";
import { JournalWriter } from "../../../src/journal/writer.js";

const PYTHON = resolve(process.env["NWB_SETTINGS_PYTHON"] ?? ".venv/bin/python");
const SEED = Number(process.env["JOURNAL_PROPERTY_SEED"] ?? 20261128);
const RUNS = Number(process.env["JOURNAL_PROPERTY_RUNS"] ?? 80);

// ---------------------------------------------------------------------------------------------
// generators: hostile but valid values
// ---------------------------------------------------------------------------------------------

const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 6 }), // includes lone surrogates and NUL
  fc.constantFrom("", ".", "/", "a/b", "a.b", " ", "\u0000", "\ud800", "é🎉", "__proto__", "value"),
);
const number: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.double(), // NaN, ±Infinity, -0 included
  fc.bigInt(-(2n ** 70n), 2n ** 70n),
  fc.constantFrom(2n ** 63n, -(2n ** 63n) - 1n, 1e300, 5e-324, -0),
);
const leaf: fc.Arbitrary<JsonValue> = fc.oneof(number, text, fc.boolean(), fc.constant(null));
const { tree } = fc.letrec<{ tree: JsonValue; node: JsonValue }>((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, fc.array(tie("node"), { maxLength: 3 }), tie("tree")),
  tree: fc.array(fc.tuple(text, tie("node")), { maxLength: 4 }).map((es) => new Map(es) as JsonValue),
}));
/** Settings: usually a mapping, sometimes not (numbers, text, lists are valid settings too). */
const settings: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 4, arbitrary: tree },
  { weight: 1, arbitrary: leaf },
  { weight: 1, arbitrary: fc.array(leaf, { maxLength: 3 }) },
);

const eventSpec = fc.record({
  kind: fc.constantFrom("INITIAL", "UPDATED", "UPDATED", "SENTINEL"),
  component: fc.oneof(text, fc.constantFrom("SYS/A", "SYS/B")),
  structured: fc.option(settings, { freq: 4 }),
  repr: fc.oneof(text, tree),
  session: fc.option(text),
  table: fc.constantFrom("settings_annotations", "settings_annotations", "other table"),
  dt: fc.oneof(fc.constantFrom(0, 0.001, 1, -0.5), fc.double({ min: -10, max: 10, noNaN: true })),
});

const stream = fc.array(eventSpec, { minLength: 1, maxLength: 12 }).map((specs) => {
  let t = 100;
  return specs.map((s, i): PipelineSettingsEvent => {
    t += s.dt;
    if (s.kind === "SENTINEL") {
      return {
        seq: i,
        timestamp: t,
        component_address: INIT_FINAL_COMPONENT_ADDRESS,
        event_type: "INITIAL",
        repr_value: "",
        structured_value: null,
        source_session_id: null,
        table_name: s.table,
      };
    }
    return {
      seq: i,
      timestamp: t,
      component_address: s.component === INIT_FINAL_COMPONENT_ADDRESS ? "x" : s.component,
      event_type: s.kind as "INITIAL" | "UPDATED",
      repr_value: s.repr,
      structured_value: s.structured,
      source_session_id: s.session,
      table_name: s.table,
    };
  });
});

const START = new Date("2026-03-01T10:00:00Z");
const headerFor = (nwbPath: string) => ({
  nwbPath,
  sinks: ["annotations"],
  meta: { session_description: "p" },
  sessionStartTime: START,
  timestampsReferenceTime: START,
});

describe("journal property: lossless", () => {
  it("readJournal gives back exactly the appended events, and a torn tail costs only its line", async () => {
    const root = mkdtempSync(join(tmpdir(), "journal-prop-"));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(stream, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.nat(200), async (events, closeTime, tornBytes) => {
        const nwb = join(root, `r${n++}.nwb`);
        const w = await JournalWriter.create(journalPathFor(nwb), headerFor(nwb), { syncIntervalMs: 5 });
        for (const e of events) w.append(e);
        await w.close(closeTime);
        const j = await readJournal(journalPathFor(nwb));
        expect(j.events.map((e) => serializeEvent(e.event))).toEqual(events.map(serializeEvent));
        expect(j.closeTime === closeTime).toBe(true); // (-0 is written as 0)
        // A crash mid-write of one more line: the torn piece is ignored, nothing else is lost.
        const extra = serializeEvent(events[0]!);
        const piece = extra.slice(0, Math.min(tornBytes, extra.length - 1));
        const torn = join(root, `t${n}.journal.jsonl`);
        const body = readFileSync(journalPathFor(nwb), "utf8")
          .split("\n")
          .filter((l) => !l.includes("nwb_settings_journal_end"))
          .join("\n");
        writeFileSync(torn, body);
        if (piece) appendFileSync(torn, piece);
        const t = await readJournal(torn);
        expect(t.events.map((e) => serializeEvent(e.event))).toEqual(events.map(serializeEvent));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);
});

const READ_ALL = `
import json, sys, warnings
warnings.simplefilter("ignore")
from pynwb import NWBHDF5IO
out = {}
for path in sys.argv[1:]:
    with NWBHDF5IO(path, "r") as io:
        f = io.read()
        out[path] = {name: {"data": [d if isinstance(d, str) else d.decode("utf-8") for d in s.data[:]], "timestamps": [float(t) for t in s.timestamps[:]]} for name, s in f.acquisition.items()}
sys.stdout.write(json.dumps(out))
`;

describe("convert property: pynwb reads every event", () => {
  it("every non-sentinel event is one row with its exact JSON, in every generated stream", async () => {
    const root = mkdtempSync(join(tmpdir(), "convert-prop-"));
    const cases = fc.sample(stream, { seed: SEED, numRuns: Math.max(10, Math.floor(RUNS / 2)) });
    const files: { path: string; events: PipelineSettingsEvent[] }[] = [];
    for (const [i, events] of cases.entries()) {
      const log = join(root, `s${i}.jsonl`);
      writeFileSync(log, events.map((e) => `${serializeEvent(e)}\n`).join(""));
      const r = await convertLog(log, join(root, `s${i}.nwb`), {
        sinks: ["annotations"],
        timeOrigin: "raw",
        meta: { session_description: "p" },
        overwrite: false,
      });
      expect(r.problems, `stream ${i}`).toEqual([]);
      if (r.outputs.length > 0) files.push({ path: r.outputs[0]!, events });
      else expect(events.every(isSentinel), `stream ${i} wrote no file`).toBe(true);
    }
    const read = JSON.parse(execFileSync(PYTHON, ["-c", READ_ALL, ...files.map((f) => f.path)], { maxBuffer: 1 << 28, encoding: "utf8" })) as Record<
      string,
      Record<string, { data: string[]; timestamps: number[] }>
    >;
    const failures: string[] = [];
    for (const [i, f] of files.entries()) {
      const series = read[f.path]!;
      const rows = new Map<number, { table: string; text: string; stored: number }>();
      for (const [table, s] of Object.entries(series)) {
        s.data.forEach((text, k) => {
          const seq = Number((parseJson(text) as Map<string, JsonValue>).get("seq"));
          if (rows.has(seq)) failures.push(`file ${i}: seq ${seq} written twice`);
          rows.set(seq, { table, text, stored: s.timestamps[k]! });
        });
      }
      const expected = f.events.filter((e) => !isSentinel(e));
      if (rows.size !== expected.length) failures.push(`file ${i}: ${rows.size} rows for ${expected.length} events`);
      for (const e of expected) {
        const row = rows.get(e.seq);
        if (!row) {
          failures.push(`file ${i}: event seq ${e.seq} missing\n  ${serializeEvent(e)}`);
          continue;
        }
        const payload = tableRowPayload(e);
        if (row.stored !== e.timestamp) payload.set("timestamp", e.timestamp);
        if (row.table !== e.table_name || row.text !== stringifyJson(payload)) {
          failures.push(`file ${i}: seq ${e.seq} differs\n  got      ${row.table}: ${row.text}\n  expected ${e.table_name}: ${stringifyJson(payload)}`);
        }
        if (row.stored < e.timestamp) failures.push(`file ${i}: seq ${e.seq} stored earlier than it happened`);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
