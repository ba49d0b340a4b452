/**
 * The journal's file format (docs/journal.md): JSON Lines, UTF-8, `\n`-terminated.
 * - line 1, the header: `{"nwb_settings_journal": 1, "nwb_file": …, "sinks": […], …}`: everything
 *   `recover` needs to rebuild the same NWB file (session metadata, the file's reference times);
 * - then one event per line, in the documented event format (docs/event-log.md), exactly as the
 *   sinks received it: timestamps already in file time (seconds since timestamps_reference_time);
 * - optionally a last line `{"nwb_settings_journal_end": {"close_time": t}}` written by a clean
 *   close: the file time the sinks were closed at (a crashed recording has none).
 */
import { basename, dirname, isAbsolute, resolve } from "node:path";
import type { NwbMetadata } from "../nwb/metadata.js";
import { parseMetadata } from "../nwb/metadata.js";
import { JournalFormatError } from "../errors.js";

export const JOURNAL_FORMAT_VERSION = 1;
/** The key that makes line 1 a journal header (and never an event). */
export const HEADER_KEY = "nwb_settings_journal";
/** The key of the clean-close trailer line. */
export const END_KEY = "nwb_settings_journal_end";
export const JOURNAL_SUFFIX = ".journal.jsonl";

/** The journal of an NWB recording lives beside it: `<nwb path>.journal.jsonl`. */
export function journalPathFor(nwbPath: string): string {
  return `${nwbPath}${JOURNAL_SUFFIX}`;
}

/** What a journal header says, decoded. */
export interface JournalHeader {
  version: number;
  /** The NWB file (first segment) the recording writes, resolved against the journal's folder. */
  nwbPath: string;
  /** Sink names in order (`annotations`, `table`), as `--sinks` takes them. */
  sinks: string[];
  /** Session metadata; `session_start_time` is always set. */
  meta: NwbMetadata & { session_start_time: Date };
  timestampsReferenceTime: Date;
  /** When the recording (and its first file) was created; rebuilt files use it as file_create_date. */
  created: Date;
  /** Free-form description of where events came from (e.g. "ezmsg://127.0.0.1:25978"). */
  source?: string;
  /** The process writing the recording (to tell a live recording from a crashed one). */
  writer?: JournalWriterId;
}

/** Which process writes a journal: its pid on its host. */
export interface JournalWriterId {
  pid: number;
  host: string;
}

/** What the writer needs to make a header. */
export interface JournalHeaderInfo {
  nwbPath: string;
  sinks: readonly string[];
  meta: NwbMetadata;
  sessionStartTime: Date;
  timestampsReferenceTime: Date;
  created?: Date;
  source?: string;
  writer?: JournalWriterId;
}

export { JournalFormatError };

/** Metadata as JSON: dates as ISO 8601 text, undefined fields left out, session_start_time apart. */
function metaToJson(meta: NwbMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (v === undefined || k === "session_start_time") continue;
    out[k] = v instanceof Date ? v.toISOString() : v;
  }
  return out;
}

/** The header line (no newline). The NWB path is stored relative to the journal when beside it. */
export function encodeHeader(info: JournalHeaderInfo, journalPath: string): string {
  const nwbAbs = resolve(info.nwbPath);
  const nwbFile = dirname(nwbAbs) === dirname(resolve(journalPath)) ? basename(nwbAbs) : nwbAbs;
  const header: Record<string, unknown> = {
    [HEADER_KEY]: JOURNAL_FORMAT_VERSION,
    nwb_file: nwbFile,
    sinks: [...info.sinks],
    session_start_time: info.sessionStartTime.toISOString(),
    timestamps_reference_time: info.timestampsReferenceTime.toISOString(),
    created: (info.created ?? new Date()).toISOString(),
    meta: metaToJson(info.meta),
  };
  if (info.source !== undefined) header["source"] = info.source;
  if (info.writer !== undefined) header["writer"] = { pid: info.writer.pid, host: info.writer.host };
  return JSON.stringify(header);
}

function isoDate(v: unknown, field: string, where: string): Date {
  const t = typeof v === "string" ? new Date(v) : undefined;
  if (!t || Number.isNaN(t.getTime())) throw new JournalFormatError(`${where}: header "${field}" must be an ISO 8601 date-time, got ${JSON.stringify(v)}`);
  return t;
}

/** Whether a line looks like a journal header (so an event-log reader can tell it apart). */
export function isHeaderLine(text: string): boolean {
  return /^\s*\{\s*"nwb_settings_journal"\s*:/.test(text);
}

/** Decode line 1. `where` is `FILE:1` for messages. */
export function decodeHeader(text: string, journalPath: string, where: string): JournalHeader {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new JournalFormatError(`${where}: the header is not JSON (${(err as Error).message}); is this a journal?`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj) || !(HEADER_KEY in obj)) {
    throw new JournalFormatError(`${where}: not a journal header (line 1 must be an object with "${HEADER_KEY}")`);
  }
  const h = obj as Record<string, unknown>;
  const version = h[HEADER_KEY];
  if (version !== JOURNAL_FORMAT_VERSION) {
    throw new JournalFormatError(
      `${where}: journal format version ${JSON.stringify(version)} is not supported (this nwb-settings reads version ${JOURNAL_FORMAT_VERSION})`,
    );
  }
  if (typeof h["nwb_file"] !== "string" || h["nwb_file"] === "") throw new JournalFormatError(`${where}: header "nwb_file" must be a non-empty string`);
  const sinks = h["sinks"];
  if (!Array.isArray(sinks) || sinks.length === 0 || !sinks.every((s) => typeof s === "string")) {
    throw new JournalFormatError(`${where}: header "sinks" must be a non-empty list of sink names`);
  }
  const sessionStart = isoDate(h["session_start_time"], "session_start_time", where);
  const reference = isoDate(h["timestamps_reference_time"], "timestamps_reference_time", where);
  const created = isoDate(h["created"], "created", where);
  let meta: NwbMetadata;
  try {
    meta = parseMetadata(h["meta"] ?? null, `${where}: header "meta"`);
  } catch (err) {
    throw new JournalFormatError((err as Error).message);
  }
  const nwbFile = h["nwb_file"];
  const header: JournalHeader = {
    version,
    nwbPath: isAbsolute(nwbFile) ? nwbFile : resolve(dirname(resolve(journalPath)), nwbFile),
    sinks: sinks as string[],
    meta: { ...meta, session_start_time: sessionStart },
    timestampsReferenceTime: reference,
    created,
  };
  if (typeof h["source"] === "string") header.source = h["source"];
  const w = h["writer"] as Record<string, unknown> | undefined;
  if (w && typeof w === "object" && Number.isInteger(w["pid"]) && typeof w["host"] === "string") header.writer = { pid: w["pid"] as number, host: w["host"] };
  return header;
}

/** The clean-close trailer line (no newline). */
export function encodeEnd(closeTime: number): string {
  return JSON.stringify({ [END_KEY]: { close_time: closeTime } });
}

export function isEndLine(text: string): boolean {
  return /^\s*\{\s*"nwb_settings_journal_end"\s*:/.test(text);
}

/** Decode the trailer; returns the close time. */
export function decodeEnd(text: string, where: string): number {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new JournalFormatError(`${where}: bad end line (${(err as Error).message})`);
  }
  const end = (obj as Record<string, unknown>)[END_KEY] as Record<string, unknown> | undefined;
  const t = end?.["close_time"];
  if (typeof t !== "number" || !Number.isFinite(t)) throw new JournalFormatError(`${where}: end line needs a finite "close_time"`);
  return t;
}
