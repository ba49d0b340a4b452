/**
 * `recover`: check an NWB recording against its journal and rebuild it from the journal when the
 * file is damaged or behind (docs/reliability.md).
 *
 * The journal holds every event exactly as the sinks received it (file time), plus the header
 * the file was created with, so replaying it through the same sinks writes the same rows. The
 * replay is the reference for the check too: each segment's row counts per AnnotationSeries and
 * TimeIntervals table are compared with the file's. The replay is written into a temporary folder
 * beside the output and moved into place only when a rebuild is wanted and allowed.
 *
 * Close time: a cleanly closed recording journals the time its sinks were closed at; after a crash
 * the last journaled event time is used (an open interval ends at the last event, not later).
 */
import { createHash } from "node:crypto";
import { copyFile, mkdtemp, rename, rm, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { errorText } from "../../nwb/hdf5/h5wasm.js";
import { inventory } from "../../nwb/inventory.js";
import { NwbFileReader } from "../../nwb/nwb-file.js";
import { NwbSettingsError, isFatal } from "../../errors.js";
import { SegmentedOutput } from "../../output/segmented-output.js";
import { JournalReader, type TornTail } from "../../journal/reader.js";
import type { JournalHeader } from "../../journal/format.js";
import { existingOutputs } from "../../output/segment-names.js";
import { SinkSet, parseSinkList } from "../../sinks/sink-set.js";

/** Rows per object (`acquisition/<name>`, `intervals/<name>`) of one file. */
export type RowCounts = Map<string, number>;

export type RecordingState = "complete" | "behind" | "damaged" | "missing";

export interface SegmentCheck {
  path: string;
  state: RecordingState | "unexpected";
  /** What is wrong, in words (empty when complete). */
  detail: string;
  rows: number;
  expectedRows: number;
}

export interface RecoverCheck {
  journal: string;
  header: JournalHeader;
  /** Events in the journal. */
  events: number;
  /** Whether the journal ends with a clean close. */
  cleanClose: boolean;
  closeTime: number;
  torn?: TornTail;
  /** Events the sinks rejected on replay (they were rejected when recording too): `JOURNAL:LINE: problem`. */
  problems: string[];
  state: RecordingState;
  /** Events not (fully) in the file: journaled events minus the longest prefix the file holds. */
  behindEvents: number;
  /** Rows the journal implies that the file lacks (all segments). */
  missingRows: number;
  segments: SegmentCheck[];
}

export interface RecoverOptions {
  /** Write the rebuilt recording here (default: the journal's NWB file). */
  out?: string;
  /** Replace existing files. */
  overwrite?: boolean;
  /** Only check, never write. */
  checkOnly?: boolean;
}

export interface RecoverResult extends RecoverCheck {
  /** "none": nothing written (complete, or check only); "rebuilt": files written. */
  action: "none" | "rebuilt";
  /** Files written (segments in order). */
  outputs: string[];
}

export class RecoverRefusedError extends NwbSettingsError<"ERR_RECOVER_REFUSED"> {
  constructor(
    message: string,
    readonly check: RecoverCheck,
  ) {
    super("ERR_RECOVER_REFUSED", message, { input: check.journal });
  }
}

/** Rows of every AnnotationSeries and TimeIntervals table of one NWB file; throws when it cannot be read. */
export async function countRows(path: string): Promise<{ rows: RowCounts; problems: string[] }> {
  const nwb = await NwbFileReader.open(path);
  try {
    const { objects, problems } = inventory(nwb, { types: ["AnnotationSeries", "TimeIntervals"] });
    return { rows: new Map(objects.map((o) => [o.path, o.rows])), problems };
  } finally {
    nwb.close();
  }
}

/** A deterministic identifier for a rebuilt file whose metadata named none (so rebuilds agree). */
function derivedIdentifier(header: JournalHeader): string {
  const h = createHash("sha256").update(`${header.nwbPath}\n${header.created.toISOString()}\n${header.meta.session_start_time.toISOString()}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface Replay {
  tempDir: string;
  /** Replayed segments: final path (beside the target), temp path, rows per object. */
  segments: { finalPath: string; tempPath: string; rows: RowCounts; total: number }[];
  events: number;
  cleanClose: boolean;
  closeTime: number;
  torn?: TornTail;
  problems: string[];
  /** Total rows after each event: rowsAfter[k] = rows staged once events 1..k were written. */
  rowsAfter: number[];
}

async function makeTempDir(near: string): Promise<string> {
  try {
    return await mkdtemp(join(dirname(near), `.${basename(near)}.recover-`));
  } catch {
    return mkdtemp(join(tmpdir(), "nwb-settings-recover-"));
  }
}

/** Replay the journal through the header's sinks into a temp folder next to `target`. */
async function replay(reader: JournalReader, target: string): Promise<Replay> {
  const header = reader.header;
  const sinkNames = parseSinkList(header.sinks.join(","));
  const tempDir = await makeTempDir(target);
  const meta = { ...header.meta, identifier: header.meta.identifier ?? derivedIdentifier(header) };
  const output = new SegmentedOutput(join(tempDir, basename(target)), meta, {
    overwrite: true,
    timestampsReferenceTime: header.timestampsReferenceTime,
    now: header.created,
  });
  const sinks = new SinkSet(sinkNames, output);
  const problems: string[] = [];
  const rowsAfter: number[] = [0];
  const totalRows = (): number => output.segments.reduce((n, s) => n + s.rows, 0);
  let events = 0;
  let lastTime: number | undefined;
  try {
    try {
      for await (const { line, event } of reader.events()) {
        events++;
        lastTime = lastTime === undefined ? event.timestamp : Math.max(lastTime, event.timestamp);
        try {
          await sinks.write(event);
        } catch (err) {
          if (isFatal(err)) throw err;
          problems.push(`${reader.path}:${line}: ${(err as Error).message}`);
        }
        rowsAfter.push(totalRows());
      }
    } finally {
      await sinks.close(reader.closeTime ?? lastTime ?? 0);
    }
  } catch (err) {
    await rm(tempDir, { recursive: true, force: true });
    throw err;
  }
  const segments: Replay["segments"] = [];
  for (const s of output.writtenSegments) {
    const { rows } = await countRows(s.path);
    segments.push({ finalPath: join(dirname(resolve(target)), basename(s.path)), tempPath: s.path, rows, total: sum(rows) });
  }
  const out: Replay = { tempDir, segments, events, cleanClose: reader.closeTime !== undefined, closeTime: reader.closeTime ?? lastTime ?? 0, problems, rowsAfter };
  if (reader.torn) out.torn = reader.torn;
  return out;
}

function sum(rows: RowCounts): number {
  let n = 0;
  for (const v of rows.values()) n += v;
  return n;
}

/** Compare the files at the header's NWB path with the replay. */
async function compare(nwbPath: string, r: Replay): Promise<Pick<RecoverCheck, "state" | "behindEvents" | "missingRows" | "segments">> {
  const existing = new Set(await existingOutputs(nwbPath));
  const segments: SegmentCheck[] = [];
  let damaged = false;
  const anyExisting = existing.size > 0;
  let held = 0;
  let missingRows = 0;
  for (const s of r.segments) {
    const check: SegmentCheck = { path: s.finalPath, state: "complete", detail: "", rows: 0, expectedRows: s.total };
    segments.push(check);
    existing.delete(s.finalPath);
    const exists = await stat(s.finalPath).then(() => true, () => false);
    if (!exists) {
      check.state = "missing";
      check.detail = "no such file";
      missingRows += s.total;
      continue;
    }
    let counted: Awaited<ReturnType<typeof countRows>>;
    try {
      counted = await countRows(s.finalPath);
    } catch (err) {
      check.state = "damaged";
      check.detail = `cannot be read: ${errorText(err)}`;
      damaged = true;
      continue;
    }
    const notes: string[] = [...counted.problems];
    let behind = 0;
    for (const [obj, n] of counted.rows) {
      const want = s.rows.get(obj);
      if (want === undefined) notes.push(`${obj} is not in the journal`);
      else if (n > want) notes.push(`${obj} has ${n} rows, the journal implies ${want}`);
    }
    for (const [obj, want] of s.rows) {
      const n = counted.rows.get(obj) ?? 0;
      if (n < want) behind += want - n;
    }
    check.rows = sum(counted.rows);
    if (notes.length > 0) {
      check.state = "damaged";
      check.detail = notes.join("; ");
      damaged = true;
    } else if (behind > 0) {
      check.state = "behind";
      check.detail = `${behind} of ${s.total} rows missing`;
      missingRows += behind;
      held += check.rows;
    } else {
      held += check.rows;
    }
  }
  for (const extra of existing) {
    segments.push({ path: extra, state: "unexpected", detail: "a segment the journal does not produce", rows: 0, expectedRows: 0 });
    damaged = true;
  }
  // The longest prefix of events whose rows the file holds (rows only grow with each event).
  let covered = 0;
  while (covered < r.events && r.rowsAfter[covered + 1]! <= held) covered++;
  const state: RecordingState = damaged
    ? "damaged"
    : !anyExisting && r.segments.length > 0
      ? "missing"
      : missingRows > 0
        ? "behind"
        : "complete";
  return { state, behindEvents: state === "complete" ? 0 : damaged ? r.events : r.events - covered, missingRows, segments };
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    await copyFile(from, to);
    await unlink(from);
  }
}

/**
 * Check the recording of `journalPath` and, unless it is complete (or `checkOnly`), rebuild it.
 * Never replaces an existing file without `overwrite`: then it throws {@link RecoverRefusedError}
 * carrying the check.
 */
export async function recoverRecording(journalPath: string, options: RecoverOptions = {}): Promise<RecoverResult> {
  const reader = await JournalReader.open(journalPath);
  const header = reader.header;
  const target = resolve(options.out ?? header.nwbPath);
  const r = await replay(reader, target);
  try {
    const verdict = await compare(header.nwbPath, r);
    const check: RecoverCheck = {
      journal: journalPath,
      header,
      events: r.events,
      cleanClose: r.cleanClose,
      closeTime: r.closeTime,
      problems: r.problems,
      ...verdict,
    };
    if (r.torn) check.torn = r.torn;
    const result: RecoverResult = { ...check, action: "none", outputs: [] };
    if (options.checkOnly) return result;
    if (options.out === undefined && check.state === "complete") return result;
    const existing = await existingOutputs(target);
    if (existing.length > 0 && !options.overwrite) {
      const why = options.out === undefined ? `${target} is ${describeState(check)}; ` : "";
      throw new RecoverRefusedError(`${why}${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; use --overwrite to replace${options.out === undefined ? ", or --out FILE to rebuild elsewhere" : ""}`, check);
    }
    const finalPaths = r.segments.map((s) => join(dirname(target), basename(s.tempPath)));
    for (const old of existing) if (!finalPaths.includes(old)) await unlink(old);
    for (const [i, s] of r.segments.entries()) await moveFile(s.tempPath, finalPaths[i]!);
    result.action = "rebuilt";
    result.outputs = finalPaths;
    return result;
  } finally {
    await rm(r.tempDir, { recursive: true, force: true });
  }
}

/** "complete", "behind by N events (R rows missing)", "damaged (…)", "missing". */
export function describeState(c: RecoverCheck): string {
  switch (c.state) {
    case "complete":
      return "complete";
    case "missing":
      return "missing";
    case "behind":
      return c.behindEvents > 0
        ? `behind by ${c.behindEvents} event${c.behindEvents === 1 ? "" : "s"} (${c.missingRows} row${c.missingRows === 1 ? "" : "s"} missing)`
        : `behind: every event is in it but it was not closed (${c.missingRows} final row${c.missingRows === 1 ? "" : "s"} missing)`;
    case "damaged": {
      const bad = c.segments.filter((s) => s.state === "damaged" || s.state === "unexpected");
      return `damaged (${bad.map((s) => `${basename(s.path)}: ${s.detail}`).join("; ")})`;
    }
  }
}
