/**
 * The settings history of a recording, read back from its NWB file(s): every change of every
 * setting in time order, and the complete state in effect at any time. The one place that turns
 * our NWB objects back into settings, shared by `show`, `show --plot` and `restore`.
 *
 * API (all times are file time: seconds from the file's timestamps_reference_time):
 * - `await readSettingsHistory(paths, {source?})` → {@link SettingsHistory}. `paths` are NWB files;
 *   each is taken with its rotated segments (`rec.nwb` → also `rec_01.nwb`, … recognised by
 *   `src/output/segment-names.ts`), duplicates are dropped, files are read in time order.
 *   Throws {@link NoSettingsError} (exit 2) when no file holds our objects, naming what was looked for.
 * - `history.changes`: {@link SettingChange}s sorted by time (stable: file order within an instant);
 *   only real changes (a value equal to the one in effect is not a change).
 * - `history.stateAt(t)`: `Map<component, Map<setting, {value, since}>>` — for every setting, the
 *   value of its last change at or before `t` (a change at exactly `t` is in effect at `t`).
 *   Settings first set after `t` are absent.
 * - `history.settings`: every (component, setting) in order of first appearance, with its kind.
 * - `history.start`, `history.end`: first change and the latest time the files know of.
 * - `history.referenceTime`: the file's timestamps_reference_time, for wall-clock times (wall-clock.ts).
 *
 * Two sinks write settings, either or both may be in a file, and any file (ours, or a pynwb file
 * after `attach`) is read by neurodata_type:
 * - JSON rows (`annotations`): AnnotationSeries whose rows are `{component, event_type, seq,
 *   settings[, timestamp]}`. Every event is there, with its own time (`timestamp` when the row's
 *   stored time was moved later to keep timestamps ascending). A row's settings are flattened to
 *   field paths as the sinks do (`events/sanitize.ts`); fields an event did not send keep their value.
 * - typed columns (`table`): TimeIntervals with an `updated_component` column; each row is a
 *   state, a change is a cell that differs from the state before (also across segments). The
 *   column's description (`Setting "f" of component "C"`) names the setting.
 * `auto` (default) reads the JSON rows when a file has them (every event, own times) and the
 * table otherwise; the two agree from the end of the startup snapshot on (the table merges the
 * startup snapshot into one state at its first event's time, and changes at one instant into one).
 */
import { realpath } from "node:fs/promises";
import { UsageError } from "../../errors.js";
import { type JsonValue, isJsonObject, parseJson, stringifyJson } from "../../events/json.js";
import { flattenSettings } from "../../events/sanitize.js";
import { readAnnotationSeries } from "../../nwb/annotation-series.js";
import { NwbFileReader } from "../../nwb/nwb-file.js";
import { readTimeIntervals } from "../../nwb/time-intervals.js";
import { readNwbIdentifier, segmentsOf } from "../../output/segment-names.js";
import { UPDATED_COMPONENT_COLUMN } from "../../sinks/table-sink.js";

export type HistorySource = "auto" | "annotations" | "table";

/**
 * A setting's value as recorded: JSON (lossless: an integer is a bigint, a float a number, arrays
 * nested, null kept). From JSON rows it is the value the event carried; from the typed table it is
 * the cell as stored (which the sink sanitized: null as "None", ragged lists as JSON text).
 */
export type SettingValue = JsonValue;

/** Two values are the same setting value when their JSON text is (so 2 and 2.0 differ, NaN equals NaN). */
export function sameValue(a: SettingValue, b: SettingValue): boolean {
  return a === b || stringifyJson(a) === stringifyJson(b);
}

/** Kind of a value: "float64", "int64", "bool", "string", "null", "array" or "object". */
export function kindOf(v: SettingValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (isJsonObject(v)) return "object";
  return typeof v === "bigint" ? "int64" : typeof v === "number" ? "float64" : typeof v === "boolean" ? "bool" : "string";
}

/** One change of one setting. */
export interface SettingChange {
  /** File time (s) from which the new value is in effect. */
  time: number;
  component: string;
  /** Field path within the component's settings (`cutoff`, `filter.order`; `.` in a key is `\.`). */
  setting: string;
  /** The value in effect before; undefined for the first value. */
  old: SettingValue | undefined;
  value: SettingValue;
  /** INITIAL (startup snapshot) or UPDATED; from the table: INITIAL for the startup row. */
  eventType: string;
  /** The event's sequence number (JSON rows only). */
  seq?: number;
  /** The file the change was read from. */
  file: string;
}

export interface SettingInfo {
  component: string;
  setting: string;
  /** Kind of its values ({@link kindOf}), or "mixed" when it changed. */
  kind: string;
}

export interface StateEntry {
  value: SettingValue;
  /** Time of the change that set it. */
  since: number;
}

export type SettingsState = Map<string, Map<string, StateEntry>>;

export interface SettingsHistory {
  files: string[];
  /** What was read: `annotations` (JSON rows), `table` (typed columns). */
  source: "annotations" | "table";
  /** Where, per file: paths of the objects read. */
  objects: { file: string; paths: string[] }[];
  referenceTime: string;
  changes: SettingChange[];
  settings: SettingInfo[];
  start: number;
  end: number;
  stateAt(t: number): SettingsState;
  /** Rows that could not be read as settings (reported, not thrown). */
  problems: string[];
}

/** No file holds our settings objects: a wrong call (exit 2), naming what was looked for. */
export class NoSettingsError extends UsageError {
  constructor(message: string) {
    super(message);
    this.name = "NoSettingsError";
  }
}

/** What we look for, in words (for the error message and docs). */
export const LOOKED_FOR =
  'an AnnotationSeries of JSON settings rows ({"component", "event_type", "seq", "settings"}) or a TimeIntervals table with an "updated_component" column';

/** The given files with their rotated segments, in recording order, without duplicates. */
export async function recordingFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = async (p: string): Promise<void> => {
    const real = await realpath(p).catch(() => p);
    if (seen.has(real)) return;
    seen.add(real);
    out.push(p);
  };
  for (const p of paths) {
    await add(p);
    const id = await readNwbIdentifier(p);
    if (id !== undefined) for (const s of await segmentsOf(p, id)) await add(s);
  }
  return out;
}

interface FileObjects {
  file: string;
  reader: NwbFileReader;
  annotations: string[];
  tables: string[];
}

/** Read the settings history of a recording (see the module comment). */
export async function readSettingsHistory(paths: readonly string[], options: { source?: HistorySource } = {}): Promise<SettingsHistory> {
  const files = await recordingFiles(paths);
  const opened: FileObjects[] = [];
  try {
    for (const file of files) {
      let reader: NwbFileReader;
      try {
        reader = await NwbFileReader.open(file);
      } catch (err) {
        throw new NoSettingsError(`${file}: cannot be read as an NWB file (${(err as Error).message})`);
      }
      opened.push({ file, reader, annotations: ourAnnotationSeries(reader), tables: ourTables(reader) });
    }
    const want = options.source ?? "auto";
    const hasAnn = opened.some((o) => o.annotations.length > 0);
    const hasTable = opened.some((o) => o.tables.length > 0);
    const source: "annotations" | "table" = want === "auto" ? (hasAnn ? "annotations" : "table") : want;
    if (source === "annotations" ? !hasAnn : !hasTable) {
      const what =
        want === "auto"
          ? LOOKED_FOR
          : source === "annotations"
            ? "an AnnotationSeries of JSON settings rows"
            : 'a TimeIntervals table with an "updated_component" column';
      throw new NoSettingsError(`no pipeline settings in ${files.join(", ")}: looked for ${what} (what nwb-settings' sinks write)`);
    }
    const referenceTime = opened.map((o) => o.reader.info().timestampsReferenceTime).find((t) => t !== "") ?? "";
    const builder = new HistoryBuilder();
    const objects: { file: string; paths: string[] }[] = [];
    // Files in time order of their first row: segments are named in order, but the user may name them in any.
    const ordered = opened
      .map((o) => ({ o, first: firstTime(o, source) }))
      .sort((a, b) => a.first - b.first)
      .map((x) => x.o);
    for (const o of ordered) {
      const paths = source === "annotations" ? o.annotations : o.tables;
      objects.push({ file: o.file, paths });
      if (source === "annotations") for (const p of paths) readAnnotationRows(o, p, builder);
      else for (const p of paths) readTableRows(o, p, builder);
    }
    return builder.finish(
      ordered.map((o) => o.file),
      source,
      objects,
      referenceTime,
    );
  } finally {
    for (const o of opened) o.reader.close();
  }
}

function ourAnnotationSeries(reader: NwbFileReader): string[] {
  return reader
    .findByType("AnnotationSeries")
    .filter((o) => {
      if (String(reader.attr(o.path, "description") ?? "").startsWith("Pipeline settings changes recorded by nwb-settings")) return true;
      try {
        const first = reader.dataset(`${o.path}/data`).slice([[0, 1]]) as ArrayLike<string>;
        return first.length > 0 && rowPayload(String(first[0])) !== undefined;
      } catch {
        return false;
      }
    })
    .map((o) => o.path);
}

function ourTables(reader: NwbFileReader): string[] {
  return reader
    .findByType("TimeIntervals")
    .filter((o) => {
      const colnames = reader.attr(o.path, "colnames");
      return Array.isArray(colnames) && colnames.map(String).includes(UPDATED_COMPONENT_COLUMN);
    })
    .map((o) => o.path);
}

function firstTime(o: FileObjects, source: "annotations" | "table"): number {
  let first = Number.POSITIVE_INFINITY;
  for (const p of source === "annotations" ? o.annotations : o.tables) {
    try {
      const ds = o.reader.dataset(source === "annotations" ? `${p}/timestamps` : `${p}/start_time`);
      if ((ds.shape?.[0] ?? 0) > 0) first = Math.min(first, Number((ds.slice([[0, 1]]) as ArrayLike<number>)[0]));
    } catch {
      // unreadable: ordered last, its problem is reported when read
    }
  }
  return first;
}

interface RowPayload {
  component: string;
  eventType: string;
  seq: number | undefined;
  settings: JsonValue;
  timestamp: number | undefined;
}

/** A JSON settings row, or undefined when the text is not one. */
function rowPayload(text: string): RowPayload | undefined {
  let v: JsonValue;
  try {
    v = parseJson(text);
  } catch {
    return undefined;
  }
  if (!isJsonObject(v)) return undefined;
  const component = v.get("component");
  const settings = v.get("settings");
  if (typeof component !== "string" || settings === undefined) return undefined;
  const eventType = v.get("event_type");
  const seq = v.get("seq");
  const ts = v.get("timestamp");
  return {
    component,
    eventType: typeof eventType === "string" ? eventType : "UPDATED",
    seq: typeof seq === "bigint" || typeof seq === "number" ? Number(seq) : undefined,
    settings,
    timestamp: typeof ts === "number" || typeof ts === "bigint" ? Number(ts) : undefined,
  };
}

function readAnnotationRows(o: FileObjects, path: string, builder: HistoryBuilder): void {
  const series = readAnnotationSeries(o.reader, path);
  const events: { time: number; order: number; row: RowPayload }[] = [];
  series.data.forEach((text, i) => {
    const row = rowPayload(text);
    if (!row) {
      builder.problems.push(`${o.file}: ${path} row ${i} is not a JSON settings row; skipped`);
      return;
    }
    events.push({ time: row.timestamp ?? series.timestamps[i]!, order: i, row });
  });
  // A row's own time rules (a stored time moved later keeps the event's time in "timestamp");
  // the builder orders all rows by time.
  for (const { time, row } of events) {
    for (const [field, v] of flattenSettings(row.settings)) {
      builder.set(time, row.component, field, v, row.eventType, row.seq, o.file);
    }
    builder.seen(time);
  }
  builder.seen(series.timestamps.at(-1) ?? Number.NEGATIVE_INFINITY);
}

const DESCRIPTION = /^Setting "(.*)" of component "(.*)"$/s;

function readTableRows(o: FileObjects, path: string, builder: HistoryBuilder): void {
  const table = readTimeIntervals(o.reader, path);
  const opener = table.cells.get(UPDATED_COMPONENT_COLUMN) ?? [];
  const names = table.columns
    .filter((c) => c.name !== UPDATED_COMPONENT_COLUMN)
    .map((c) => {
      const m = DESCRIPTION.exec(c.description);
      return { column: c.name, shape: c.cellShape ?? [], type: c.type, component: m ? m[2]! : "", setting: m ? m[1]! : c.name };
    });
  const columns = names.map((n) => table.cells.get(n.column)!);
  for (let r = 0; r < table.id.length; r++) {
    const t = table.startTime[r]!;
    const eventType = opener[r] === "__init_final__" ? "INITIAL" : "UPDATED";
    names.forEach((n, i) => {
      const cells = columns[i]!;
      // Rows are states in time order: only a cell that differs from the row before is a candidate
      // change (the builder compares across tables and segments), so a wide table costs its changes.
      if (r > 0 && sameCell(cells[r], cells[r - 1])) return;
      builder.set(t, n.component, n.setting, cellOf(cells[r], n.type, n.shape), eventType, undefined, o.file);
    });
    builder.seen(t);
    const stop = table.stopTime[r]!;
    if (Number.isFinite(stop)) builder.seen(stop);
  }
}

/** Two cells of one column as readTimeIntervals gives them (scalars, or flat arrays) are equal. */
function sameCell(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  return false;
}

/** A table cell (as readTimeIntervals gives it: flat arrays for array columns) as a settings value. */
function cellOf(cell: unknown, type: string, shape: readonly number[]): SettingValue {
  const scalar = (x: unknown): SettingValue => {
    if (type === "int64") return typeof x === "bigint" ? x : BigInt(x as number);
    if (type === "float64") return Number(x);
    if (type === "bool") return x === true || x === 1;
    return String(x);
  };
  if (shape.length === 0) return scalar(cell);
  const flat = Array.from(cell as ArrayLike<unknown>, scalar);
  const build = (dim: number, offset: number): SettingValue[] => {
    const n = shape[dim]!;
    if (dim === shape.length - 1) return flat.slice(offset, offset + n);
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, i) => build(dim + 1, offset + i * stride));
  };
  return build(0, 0);
}

interface RawSet {
  time: number;
  component: string;
  setting: string;
  value: SettingValue;
  eventType: string;
  seq: number | undefined;
  file: string;
}

/**
 * Collects every value the files set, then (in {@link finish}) orders them by time — stable, so
 * within one instant the files' order holds — and keeps the ones that change a setting.
 */
class HistoryBuilder {
  readonly problems: string[] = [];
  private readonly sets: RawSet[] = [];
  private latest = Number.NEGATIVE_INFINITY;

  set(time: number, component: string, setting: string, value: SettingValue, eventType: string, seq: number | undefined, file: string): void {
    this.sets.push({ time, component, setting, value, eventType, seq, file });
  }

  seen(t: number): void {
    if (Number.isFinite(t) && t > this.latest) this.latest = t;
  }

  finish(files: string[], source: "annotations" | "table", objects: { file: string; paths: string[] }[], referenceTime: string): SettingsHistory {
    const order = this.sets.map((_, i) => i).sort((a, b) => this.sets[a]!.time - this.sets[b]!.time || a - b);
    const current = new Map<string, Map<string, SettingValue>>();
    const kinds = new Map<string, SettingInfo>();
    const changes: SettingChange[] = [];
    for (const i of order) {
      const { time, component, setting, value, eventType, seq, file } = this.sets[i]!;
      let byField = current.get(component);
      if (!byField) {
        byField = new Map();
        current.set(component, byField);
      }
      const old = byField.get(setting);
      if (old !== undefined && sameValue(old, value)) continue;
      byField.set(setting, value);
      const key = `${component}\u0000${setting}`;
      const kind = kindOf(value);
      const info = kinds.get(key);
      if (!info) kinds.set(key, { component, setting, kind });
      else if (info.kind !== kind) info.kind = "mixed";
      changes.push({ time, component, setting, old, value, eventType, ...(seq !== undefined ? { seq } : {}), file });
    }
    const start = changes.length > 0 ? changes[0]!.time : 0;
    const end = Math.max(this.latest, changes.at(-1)?.time ?? start);
    return {
      files,
      source,
      objects,
      referenceTime,
      changes,
      settings: [...kinds.values()],
      start,
      end,
      problems: this.problems,
      stateAt: (t) => stateAt(changes, t),
    };
  }
}

/** The state in effect at `t`: per setting, its last change at or before `t` (`changes` sorted by time). */
export function stateAt(changes: readonly SettingChange[], t: number): SettingsState {
  const state: SettingsState = new Map();
  for (const c of changes) {
    if (c.time > t) break;
    let byField = state.get(c.component);
    if (!byField) {
      byField = new Map();
      state.set(c.component, byField);
    }
    byField.set(c.setting, { value: c.value, since: c.time });
  }
  return state;
}
