/**
 * Test helpers for the typed-column sink: drive a sink with compact event specs and read its
 * TimeIntervals table back with the NWB layer's reader into plain, comparable values. (The format truth is pynwb,
 * in test/conformance/test_table_sink.py; this is the fast loop.)
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PipelineSettingsEvent, makeSentinel } from "../../../src/events/event.js";
import { type JsonValue, parseJson } from "../../../src/events/json.js";
import { type CellValue, SettingArray } from "../../../src/events/settings-values.js";
import { NwbFileReader } from "../../../src/nwb/nwb-file.js";
import { readTimeIntervals } from "../../../src/nwb/time-intervals.js";

export function tempDir(prefix = "table-sink-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let seq = 0;

export function ev(t: number, component: string, type: "INITIAL" | "UPDATED", settings: string | JsonValue): PipelineSettingsEvent {
  return {
    seq: ++seq,
    timestamp: t,
    component_address: component,
    event_type: type,
    repr_value: "",
    structured_value: typeof settings === "string" ? parseJson(settings) : settings,
    source_session_id: null,
    table_name: "settings_annotations",
  };
}

export const initial = (t: number, c: string, s: string | JsonValue) => ev(t, c, "INITIAL", s);
export const updated = (t: number, c: string, s: string | JsonValue) => ev(t, c, "UPDATED", s);
export const sentinel = (t: number) => makeSentinel(++seq, t);

/** A cell as read back: scalars as bigint/number/string (bool as 0/1), arrays as {shape, data}. */
export type Plain = bigint | number | string | { shape: number[]; data: (bigint | number | string)[] };

export interface ReadTable {
  colnames: string[];
  dtypes: Record<string, string>;
  rows: Record<string, Plain>[];
}

/**
 * Read /intervals/<name> of an NWB file with the NWB layer's reader (src/nwb: the one inventory
 * and reader, so tests and `recover` count rows alike); undefined when the table is absent.
 */
export async function readTable(path: string, name = "pipeline_settings"): Promise<ReadTable | undefined> {
  const r = await NwbFileReader.open(path);
  try {
    const at = `intervals/${name}`;
    if (!r.has(at)) return undefined;
    const t = readTimeIntervals(r, at);
    const colnames = ["start_time", "stop_time", ...t.columns.map((c) => c.name)];
    const dtypes: Record<string, string> = {};
    for (const c of colnames) dtypes[c] = String(r.dataset(`${at}/${c}`).dtype);
    const plainCell = (v: unknown): bigint | number | string => (typeof v === "boolean" ? (v ? 1 : 0) : (v as bigint | number | string));
    const rows: Record<string, Plain>[] = t.id.map((_, i) => {
      const row: Record<string, Plain> = { start_time: t.startTime[i]!, stop_time: t.stopTime[i]! };
      for (const c of t.columns) {
        const v = t.cells.get(c.name)![i];
        row[c.name] = (c.cellShape ?? []).length === 0 ? plainCell(v) : { shape: [...c.cellShape!], data: (v as unknown[]).map(plainCell) };
      }
      return row;
    });
    return { colnames, dtypes, rows };
  } finally {
    r.close();
  }
}

/** A sanitized cell in the form {@link readTable} gives (bool as 0/1). */
export function plainOf(v: CellValue): Plain {
  if (v instanceof SettingArray) {
    const data = Array.from({ length: v.size }, (_, i) => scalarPlain(v.at(i)));
    return { shape: [...v.shape], data };
  }
  return scalarPlain(v);
}

function scalarPlain(v: bigint | number | boolean | string): bigint | number | string {
  return typeof v === "boolean" ? (v ? 1 : 0) : v;
}

/** Normalize what readTable gives so bool stored as int8, uint8 or a real enum compare equal. */
export function normalize(p: Plain): Plain {
  if (typeof p === "object") return { shape: p.shape, data: p.data.map((x) => (typeof x === "boolean" ? (x ? 1 : 0) : x)) };
  return typeof p === "boolean" ? (p ? 1 : 0) : p;
}

export { existsSync, join };
