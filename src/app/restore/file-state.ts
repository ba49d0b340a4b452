/**
 * The settings state in effect at file time T, read from a recording: for every component, the
 * settings its latest event at or before T carried. This is what `restore` pushes back.
 *
 * restore depends only on {@link SettingsStateReader}; {@link readStateFromAnnotations} is a small
 * reader of our JSON rows (the `annotations` sink, `record`'s default): every AnnotationSeries in
 * the file and its segments whose rows are our events (`{"component", "event_type", "seq",
 * "settings"}`). Each row holds a component's whole settings value (ezmsg events and hub updates
 * are whole values), so the last row of a component at or before T is its state at T. A row's time
 * is its event's own time (the `timestamp` key of a row the sink stored later, else the row's
 * timestamp), as `show` reads it.
 */
import { readAnnotationSeries } from "../../nwb/annotation-series.js";
import { NwbFileReader } from "../../nwb/nwb-file.js";
import { isJsonObject, parseJson, type JsonValue } from "../../events/json.js";
import { NwbSettingsError, UsageError } from "../../errors.js";
import { segmentsOf } from "../../output/segment-names.js";
import { parseTimeArg } from "../show/wall-clock.js";

/** One component's settings at T. */
export interface ComponentState {
  component: string;
  /** Its whole settings value as recorded (a JSON object; a string when only a repr was recorded). */
  settings: JsonValue;
  /** File time (s) of the row that set it, and that row's event seq. */
  time: number;
  seq: number | null;
  /** The file and AnnotationSeries the row is in. */
  source: string;
}

export interface SettingsState {
  /** The time asked for (file seconds). */
  at: number;
  /** The recording's timestamps_reference_time (wall-clock times of file time 0). */
  referenceTime: string;
  /** Components with a state at T, by address (sorted). */
  components: Map<string, ComponentState>;
  /** Files read (the recording and its segments). */
  files: string[];
  /** First and last row time in the files (s). */
  first: number;
  last: number;
}

/** Where restore gets the state at T from. */
export interface SettingsStateReader {
  /** `at`: file seconds, or a time as `show --at` takes it (seconds, HH:MM:SS[.ffffff], ISO 8601). */
  stateAt(file: string, at: number | string): Promise<SettingsState>;
}

interface Row {
  time: number;
  component: string;
  settings: JsonValue;
  seq: number | null;
  source: string;
  order: number;
}

/** Our JSON row, or null when the text is not one (then the series is not ours). */
function parseRow(text: string): { component: string; settings: JsonValue; seq: number | null; ownTime: number | null } | null {
  let v: JsonValue;
  try {
    v = parseJson(text);
  } catch {
    return null;
  }
  if (!isJsonObject(v)) return null;
  const component = v.get("component");
  const eventType = v.get("event_type");
  if (typeof component !== "string" || (eventType !== "INITIAL" && eventType !== "UPDATED") || !v.has("settings")) return null;
  const seq = v.get("seq");
  // A row moved later to keep the series ascending keeps the event's own time here (annotation-sink.md).
  const own = v.get("timestamp");
  const ownTime = typeof own === "number" ? own : typeof own === "bigint" ? Number(own) : null;
  return { component, settings: v.get("settings")!, seq: typeof seq === "bigint" ? Number(seq) : null, ownTime };
}

/** Read the state at `at` from the JSON rows of `file` and its segments (`<stem>_01.nwb`, …). */
export async function readStateFromAnnotations(file: string, atArg: number | string): Promise<SettingsState> {
  if (typeof atArg === "number" && !Number.isFinite(atArg)) throw new UsageError(`--at must be a finite time in file seconds, got ${atArg}`);
  let referenceTime = "";
  const files = [file, ...(await segmentsOf(file))];
  const rows: Row[] = [];
  let order = 0;
  for (const path of files) {
    let reader: NwbFileReader;
    try {
      reader = await NwbFileReader.open(path);
    } catch (err) {
      // The file named on the command line not being an NWB file is a wrong call (exit 2).
      if (path === file) throw new UsageError(`cannot restore from ${path}: ${(err as Error).message}`);
      throw new NwbSettingsError("ERR_INPUT_UNREADABLE", `cannot read ${path}: ${(err as Error).message}`, { input: path, cause: err });
    }
    try {
      if (path === file) referenceTime = reader.info().timestampsReferenceTime;
      for (const obj of reader.findByType("AnnotationSeries")) {
        const series = readAnnotationSeries(reader, obj.path);
        const parsed = series.data.map(parseRow);
        if (parsed.length === 0 || parsed.some((p) => p === null)) continue; // not our rows
        parsed.forEach((p, i) => {
          const { ownTime, ...row } = p!;
          rows.push({ ...row, time: ownTime ?? series.timestamps[i]!, source: `${path}:/${obj.path}`, order: order++ });
        });
      }
    } finally {
      reader.close();
    }
  }
  if (rows.length === 0) {
    throw new UsageError(
      `${file} holds no settings rows that restore can read: it looked for AnnotationSeries whose rows are nwb-settings events ` +
        `(written by the "annotations" sink, record's default) in ${files.length === 1 ? "the file" : `${files.length} segments`}`,
    );
  }
  rows.sort((a, b) => a.time - b.time || a.order - b.order);
  const first = rows[0]!.time;
  const last = rows[rows.length - 1]!.time;
  const at = typeof atArg === "number" ? atArg : parseTimeArg(atArg, referenceTime, { start: first, end: last });
  const latest = new Map<string, Row>();
  for (const r of rows) {
    if (r.time > at) break;
    latest.set(r.component, r);
  }
  const components = new Map<string, ComponentState>();
  for (const name of [...latest.keys()].sort()) {
    const r = latest.get(name)!;
    components.set(name, { component: name, settings: r.settings, time: r.time, seq: r.seq, source: r.source });
  }
  return { at, referenceTime, components, files, first, last };
}

export const annotationStateReader: SettingsStateReader = { stateAt: readStateFromAnnotations };
