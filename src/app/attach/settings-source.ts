/**
 * The settings to attach, read whole and put on the recording's clock. Three kinds of input,
 * told apart by content, not by name:
 * - an NWB file written by `record`/`convert` (HDF5 signature): its JSON-row AnnotationSeries (in
 *   every segment of it) hold every event losslessly; they are turned back into events, which go
 *   through the sinks again (so both the JSON rows and the typed table can be attached, under any
 *   name). Times are relative to that file's timestamps_reference_time;
 * - a journal (first line `{"nwb_settings_journal": …}`): events relative to the header's
 *   reference time; its clean-close time ends the last interval;
 * - a JSONL event log: timestamps are Unix seconds (wall clock, as ezmsg stamps them); an end record
 *   ends the last interval.
 * Events are held in memory: settings logs are small next to the recordings they describe.
 */
import { open } from "node:fs/promises";
import { INIT_FINAL_COMPONENT_ADDRESS, type PipelineSettingsEvent, makeSentinel } from "../../events/event.js";
import { type JsonValue, isJsonObject, parseJson } from "../../events/json.js";
import { HEADER_KEY } from "../../journal/format.js";
import { JournalReader } from "../../journal/reader.js";
import { readAnnotationSeries } from "../../nwb/annotation-series.js";
import { isHdf5File } from "../../nwb/hdf5/superblock.js";
import { NwbFileReader } from "../../nwb/nwb-file.js";
import { existingOutputFiles } from "../../output/segment-names.js";
import { readEventLog } from "../../producer/sources/jsonl-log.js";
import { ANNOTATION_DESCRIPTION } from "../../sinks/annotation-sink.js";
import { TABLE_DESCRIPTION } from "../../sinks/table-sink.js";
import { looksLikeUnixTime } from "../convert/time-origin.js";
import { type RecordingClock, parseIsoMicros } from "./recording-clock.js";

export type SettingsKind = "jsonl" | "journal" | "nwb";

export interface SettingsInput {
  path: string;
  kind: SettingsKind;
  /** Events in order, timestamps already in recording time (seconds since its reference time). */
  events: { where: string; event: PipelineSettingsEvent }[];
  /** When the settings ended, in recording time, if the input says (end record, clean close). */
  end?: number;
  /** Lines or rows that could not be read; the rest is attached. */
  problems: string[];
}

/** The latest event time (a loop: a spread of a long log's times would overflow the call stack). */
export function latestTime(events: readonly { event: PipelineSettingsEvent }[]): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const e of events) if (e.event.timestamp > latest) latest = e.event.timestamp;
  return latest;
}

/** What kind of settings input a file is (reads its first bytes). */
export async function settingsKind(path: string): Promise<SettingsKind> {
  if (isHdf5File(path)) return "nwb";
  const fh = await open(path, "r");
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf
      .subarray(0, bytesRead)
      .toString("utf8")
      .replace(/^\uFEFF/, "");
    return new RegExp(`^\\s*\\{\\s*"${HEADER_KEY}"\\s*:`).test(head) ? "journal" : "jsonl";
  } finally {
    await fh.close();
  }
}

export async function readSettings(path: string, clock: RecordingClock): Promise<SettingsInput> {
  const kind = await settingsKind(path);
  switch (kind) {
    case "jsonl":
      return readLog(path, clock);
    case "journal":
      return readJournalInput(path, clock);
    case "nwb":
      return readNwbInput(path, clock);
  }
}

async function readLog(path: string, clock: RecordingClock): Promise<SettingsInput> {
  const out: SettingsInput = { path, kind: "jsonl", events: [], problems: [] };
  for await (const rec of readEventLog(path)) {
    if (rec.kind === "error") {
      out.problems.push(rec.message);
      continue;
    }
    if (rec.kind === "end") {
      out.end = clock.fromUnixSeconds(rec.time);
      continue;
    }
    const t = rec.event.timestamp;
    if (!looksLikeUnixTime(t)) {
      throw new Error(
        `${path}:${rec.line}: timestamp ${t} is not Unix time (seconds since 1970), so it cannot be placed on the recording's clock; attach needs wall-clock event times (ezmsg's time.time())`,
      );
    }
    // Set in place: events read from text are objects whose values a spread would not copy.
    rec.event.timestamp = clock.fromUnixSeconds(t);
    out.events.push({ where: `${path}:${rec.line}`, event: rec.event });
  }
  const latest = latestTime(out.events);
  if (out.end !== undefined && out.end < latest) {
    out.problems.push(`${path}: the end record is earlier than an event; ignored, the settings' end is unknown`);
    delete out.end;
  }
  return out;
}

async function readJournalInput(path: string, clock: RecordingClock): Promise<SettingsInput> {
  const reader = await JournalReader.open(path);
  // The header's reference time was made from a JavaScript Date: whole milliseconds, exact in µs.
  const ref = reader.header.timestampsReferenceTime.getTime() * 1000;
  const out: SettingsInput = { path, kind: "journal", events: [], problems: [] };
  for await (const e of reader.events()) {
    e.event.timestamp = clock.fromRelative(ref, e.event.timestamp);
    out.events.push({ where: `${path}:${e.line}`, event: e.event });
  }
  if (reader.torn) out.problems.push(`${path}:${reader.torn.line}: torn last line (${reader.torn.problem}); ignored`);
  if (reader.closeTime !== undefined) out.end = clock.fromRelative(ref, reader.closeTime);
  return out;
}

/** Settings back from the JSON rows of an NWB file we wrote (all its segments). */
async function readNwbInput(path: string, clock: RecordingClock): Promise<SettingsInput> {
  const out: SettingsInput = { path, kind: "nwb", events: [], problems: [] };
  const files = await existingOutputFiles(path);
  const found: { seq: number; order: number; where: string; event: PipelineSettingsEvent }[] = [];
  let tableOnly = false;
  for (const file of files) {
    const nwb = await NwbFileReader.open(file);
    try {
      const ref = parseIsoMicros(nwb.info().timestampsReferenceTime);
      const series = nwb.findByType("AnnotationSeries").filter((o) => nwb.attr(o.path, "description") === ANNOTATION_DESCRIPTION);
      if (series.length === 0) {
        tableOnly ||= nwb.findByType("TimeIntervals").some((o) => nwb.attr(o.path, "description") === TABLE_DESCRIPTION);
        continue;
      }
      for (const s of series) {
        const data = readAnnotationSeries(nwb, s.path);
        data.data.forEach((text, i) => {
          const where = `${file}:/${s.path}[${i}]`;
          try {
            const event = eventFromRow(text, data.timestamps[i]!, data.name);
            event.timestamp = clock.fromRelative(ref, event.timestamp);
            found.push({ seq: event.seq, order: found.length, where, event });
          } catch (err) {
            out.problems.push(`${where}: ${(err as Error).message}`);
          }
        });
      }
    } finally {
      nwb.close();
    }
  }
  if (found.length === 0) {
    throw new Error(
      tableOnly
        ? `${path} holds only a typed settings table; attach copies settings from the JSON rows (record/convert --sinks annotations or annotations,table): give its journal or log instead`
        : `${path} holds no settings written by nwb-settings (no AnnotationSeries of ours)`,
    );
  }
  // The source order is seq order (the rows of a series are in time order, INITIALs sorted by time).
  found.sort((a, b) => a.seq - b.seq || a.order - b.order);
  // The startup snapshot ends where the first UPDATED begins: the sentinel the typed table merges at.
  const firstUpdate = found.findIndex((f) => f.event.event_type !== "INITIAL");
  const initials = firstUpdate === -1 ? found : found.slice(0, firstUpdate);
  for (const f of found) out.events.push({ where: f.where, event: f.event });
  if (initials.length > 0) {
    const last = initials[initials.length - 1]!.event;
    const sentinel = makeSentinel(last.seq, latestTime(initials), last.table_name);
    out.events.splice(initials.length, 0, { where: `${path} (end of the startup snapshot)`, event: sentinel });
  }
  return out;
}

/** One JSON row `{component, event_type, seq, settings[, timestamp]}` back into its event. */
function eventFromRow(text: string, storedTime: number, tableName: string): PipelineSettingsEvent {
  const row = parseJson(text);
  if (!isJsonObject(row)) throw new Error("row is not a JSON object");
  const component = row.get("component");
  const type = row.get("event_type");
  const seq = row.get("seq");
  if (typeof component !== "string" || component === INIT_FINAL_COMPONENT_ADDRESS) throw new Error("row has no component");
  if (type !== "INITIAL" && type !== "UPDATED") throw new Error(`row has event_type ${String(type)}`);
  if (typeof seq !== "bigint" && typeof seq !== "number") throw new Error("row has no seq");
  const own = row.get("timestamp");
  const settings: JsonValue = row.get("settings") ?? null;
  return {
    seq: Number(seq),
    timestamp: typeof own === "number" ? own : storedTime,
    component_address: component,
    event_type: type,
    repr_value: typeof settings === "string" ? settings : "",
    structured_value: typeof settings === "string" ? null : settings,
    source_session_id: null,
    table_name: tableName,
  };
}
