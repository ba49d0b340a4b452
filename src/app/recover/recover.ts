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
import { errorText, h5wasm } from "../../nwb/hdf5/h5wasm.js";
import { inventory, rootProblems } from "../../nwb/inventory.js";
import { NwbFileReader } from "../../nwb/nwb-file.js";
import { NwbSettingsError, UsageError, isFatal } from "../../errors.js";
import { SegmentedOutput } from "../../output/segmented-output.js";
import { JournalReader, type TornTail } from "../../journal/reader.js";
import { JOURNAL_SUFFIX, type JournalHeader } from "../../journal/format.js";
import { existingOutputFiles, readNwbIdentifier } from "../../output/segment-names.js";
import { writerLiveness } from "../../journal/liveness.js";
import { SinkSet, parseSinkList } from "../../sinks/sink-set.js";
import { StreamSink } from "../../sinks/stream-sink.js";
import { SampleJournalReader, type SampleJournalTail, type SampleJournalRecord, sampleJournalPathFor } from "../../journal/sample-journal.js";

/** Rows per object (`acquisition/<name>`, `intervals/<name>`) of one file. */
export type RowCounts = Map<string, number>;

/**
 * - complete: the files hold exactly what the journal implies (row counts and values);
 * - behind: they hold a prefix of it (a kill before the last flush);
 * - damaged: unreadable, torn, or values that differ from the journal;
 * - ahead: they hold rows or segments the journal lacks (a short or damaged journal): never
 *   rebuilt over, since the files are then the better record;
 * - missing: no file.
 */
export type RecordingState = "complete" | "behind" | "damaged" | "ahead" | "missing";

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
  /** Rows the journal implies that the file lacks (all segments; samples included). */
  missingRows: number;
  segments: SegmentCheck[];
  /** With a sample journal (a recording with data streams that did not stop cleanly). */
  samples?: { journal: string; chunks: number; rows: number; fileRows: number; torn?: SampleJournalTail };
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
    return { rows: new Map(objects.map((o) => [o.path, o.rows])), problems: [...rootProblems(nwb), ...problems] };
  } finally {
    nwb.close();
  }
}

/**
 * Samples of every TimeSeries / ElectricalSeries (not AnnotationSeries) in `/acquisition` of one
 * file: per series the rows both its data and (if any) timestamps hold.
 */
export async function countSampleRows(path: string): Promise<number> {
  const nwb = await NwbFileReader.open(path);
  let total = 0;
  try {
    const acq = nwb.get("acquisition");
    if (!(acq instanceof h5wasm.Group)) return 0;
    for (const name of acq.keys()) {
      const g = nwb.get(`acquisition/${name}`);
      if (!(g instanceof h5wasm.Group)) continue;
      const type = g.attrs["neurodata_type"]?.value;
      if (type !== "TimeSeries" && type !== "ElectricalSeries") continue;
      const data = nwb.get(`acquisition/${name}/data`);
      if (!(data instanceof h5wasm.Dataset)) continue;
      let rows = data.shape?.[0] ?? 0;
      const ts = nwb.get(`acquisition/${name}/timestamps`);
      if (ts instanceof h5wasm.Dataset) rows = Math.min(rows, ts.shape?.[0] ?? 0);
      total += rows;
    }
  } finally {
    nwb.close();
  }
  return total;
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
  /** With a sample journal: chunks and samples replayed, and where it stopped being readable. */
  samples?: { path: string; chunks: number; rows: number; torn?: SampleJournalTail };
}

async function makeTempDir(near: string): Promise<string> {
  try {
    return await mkdtemp(join(dirname(near), `.${basename(near)}.recover-`));
  } catch {
    return mkdtemp(join(tmpdir(), "nwb-settings-recover-"));
  }
}

/**
 * Replay the journal through the header's sinks into a temp folder next to `target`; with a sample
 * journal its chunks too, each placed after the settings events that were journaled before it.
 */
async function replay(reader: JournalReader, target: string, samples?: SampleJournalReader): Promise<Replay> {
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
  const streams = new StreamSink({
    output,
    ...(samples?.header.electrodeLocation !== undefined ? { electrodeLocation: samples.header.electrodeLocation } : {}),
  });
  const problems: string[] = [];
  const rowsAfter: number[] = [0];
  let sampleRows = 0;
  let chunks = 0;
  // rows of the settings objects only (what countRows sees), for the prefix the file holds
  const totalRows = (): number => output.segments.reduce((n, s) => n + s.rows, 0) - sampleRows;
  const records = samples?.records();
  let next: IteratorResult<SampleJournalRecord> | undefined = records?.next();
  const writeSamples = async (upTo: number): Promise<void> => {
    while (next && !next.done && next.value.events <= upTo) {
      const r = next.value;
      next = records!.next();
      if (r.kind === "split") {
        // `--split-bytes` started the next segment here while recording: so does the replay
        await sinks.split(r.time);
        continue;
      }
      try {
        await streams.write(r.topic, r.chunk);
        sampleRows += r.chunk.rows;
        chunks++;
      } catch (err) {
        if (isFatal(err)) throw err;
        problems.push(`${samples!.path}: stream ${r.topic}: ${(err as Error).message}`);
      }
    }
  };
  let events = 0;
  let lastTime: number | undefined;
  try {
    try {
      for await (const { line, event } of reader.events()) {
        await writeSamples(events);
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
      await writeSamples(Number.POSITIVE_INFINITY);
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
  const out: Replay = {
    tempDir,
    segments,
    events,
    cleanClose: reader.closeTime !== undefined,
    closeTime: reader.closeTime ?? lastTime ?? 0,
    problems,
    rowsAfter,
  };
  if (reader.torn) out.torn = reader.torn;
  if (samples) out.samples = { path: samples.path, chunks, rows: sampleRows, ...(samples.torn ? { torn: samples.torn } : {}) };
  return out;
}

function sum(rows: RowCounts): number {
  let n = 0;
  for (const v of rows.values()) n += v;
  return n;
}

/** Every dataset of every AnnotationSeries / TimeIntervals, as plain arrays (for value comparison). */
async function readValues(path: string): Promise<Map<string, unknown[]>> {
  const nwb = await NwbFileReader.open(path);
  const out = new Map<string, unknown[]>();
  try {
    for (const parent of ["acquisition", "intervals"]) {
      const g = nwb.get(parent);
      if (!(g instanceof h5wasm.Group)) continue;
      for (const name of g.keys()) {
        const obj = nwb.get(`${parent}/${name}`);
        if (!(obj instanceof h5wasm.Group)) continue;
        const type = obj.attrs["neurodata_type"]?.value;
        if (type !== "AnnotationSeries" && type !== "TimeIntervals") continue;
        for (const key of obj.keys()) {
          const d = nwb.get(`${parent}/${name}/${key}`);
          if (!(d instanceof h5wasm.Dataset)) continue;
          try {
            const v = d.value as unknown;
            out.set(`${parent}/${name}/${key}`, ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<unknown>) : Array.isArray(v) ? v : [v]);
          } catch {
            // unreadable data is reported by countRows
          }
        }
      }
    }
  } finally {
    nwb.close();
  }
  return out;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b) || a === b) return true;
  if (typeof a === "number" && typeof b === "number") return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b))
    return sameValue(Array.from(a as unknown as ArrayLike<unknown>), Array.from(b as unknown as ArrayLike<unknown>));
  return false;
}

interface Difference {
  /** A value the journal cannot explain: the file is damaged. */
  damage?: string;
  /** The typed table's last row holds an older state of the open interval (written at the last flush). */
  openRow?: string;
}

/**
 * Where the file differs from the replay over the rows the file holds. In a TimeIntervals table the
 * last row on disk is the open interval as of the last flush: later changes at the instant it began
 * are merged into it in place (docs/table-sink.md), so its values may lag the journal; that is a
 * file behind its journal, not damage.
 */
async function findDifference(filePath: string, replayPath: string): Promise<Difference> {
  const [file, replay] = await Promise.all([readValues(filePath), readValues(replayPath)]);
  const out: Difference = {};
  for (const [key, values] of file) {
    const want = replay.get(key);
    if (!want) continue; // reported by the row counts
    const n = Math.min(values.length, want.length);
    const starts = key.endsWith("/stop_time") ? file.get(`${key.slice(0, -"stop_time".length)}start_time`) : undefined;
    const table = key.split("/").slice(0, 2).join("/");
    const lastRow = key.startsWith("intervals/") ? lastRowStart(values, file.get(`${key}_index`), file.get(`${table}/id`)?.length) : Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      if (sameValue(values[i], want[i]) || (starts && i === values.length - 1 && openIntervalStop(values[i], starts[i]))) continue;
      const text = `${key}[${i}] is ${preview(values[i])}, the journal implies ${preview(want[i])}`;
      if (i < lastRow) return { damage: text };
      out.openRow ??= `the last row of ${table} holds the open interval as of the last flush (${key.split("/").pop()}[${i}] is ${preview(values[i])}, now ${preview(want[i])})`;
      break;
    }
  }
  return out;
}

/**
 * Where a dataset's last row begins in its flattened values: for a ragged column's data the
 * previous row's end (from its `_index`), else the last row's cells (a fixed-shape column has
 * values.length / rows cells per row).
 */
function lastRowStart(values: unknown[], index: unknown[] | undefined, rows: number | undefined): number {
  if (index !== undefined) return index.length >= 2 ? Number(index[index.length - 2]) : 0;
  const width = rows && rows > 0 ? Math.max(1, Math.floor(values.length / rows)) : 1;
  return values.length - width;
}

/**
 * The file's last interval row may still have been open when the writer stopped: its stop_time is
 * then the time of the last flush (docs/table-sink.md), which the journal cannot know. Any stop at
 * or after the row's own start is that, not damage; the row's values are compared as usual.
 */
function openIntervalStop(stop: unknown, start: unknown): boolean {
  return typeof stop === "number" && typeof start === "number" && stop >= start;
}

function preview(v: unknown): string {
  const text = typeof v === "bigint" ? `${v}` : typeof v === "string" ? JSON.stringify(v) : String(v);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Compare the files at the header's NWB path with the replay: row counts, then every value. */
async function compare(
  nwbPath: string,
  identifier: string,
  r: Replay,
): Promise<Pick<RecoverCheck, "state" | "behindEvents" | "missingRows" | "segments" | "samples">> {
  const existing = new Set(await existingOutputFiles(nwbPath, identifier));
  const segments: SegmentCheck[] = [];
  let damaged = false;
  let ahead = false;
  const anyExisting = existing.size > 0;
  let held = 0;
  let missingRows = 0;
  let fileSamples = 0;
  for (const s of r.segments) {
    const check: SegmentCheck = { path: s.finalPath, state: "complete", detail: "", rows: 0, expectedRows: s.total };
    segments.push(check);
    existing.delete(s.finalPath);
    const exists = await stat(s.finalPath).then(
      () => true,
      () => false,
    );
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
    if (r.samples) fileSamples += await countSampleRows(s.finalPath).catch(() => 0);
    const more: string[] = [];
    let behind = 0;
    for (const [obj, n] of counted.rows) {
      const want = s.rows.get(obj);
      if (want === undefined) more.push(`${obj} is not in the journal`);
      else if (n > want) more.push(`${obj} has ${n} rows, the journal implies ${want}`);
    }
    for (const [obj, want] of s.rows) {
      const n = counted.rows.get(obj) ?? 0;
      if (n < want) behind += want - n;
    }
    check.rows = sum(counted.rows);
    const found: Difference =
      counted.problems.length === 0
        ? await findDifference(s.finalPath, s.tempPath).catch((err: unknown) => ({ damage: `cannot be compared: ${errorText(err)}` }))
        : {};
    const difference = found.damage;
    if (found.openRow !== undefined) behind += 1; // the open interval's current state is not on disk
    if (counted.problems.length > 0 || difference !== undefined) {
      check.state = "damaged";
      check.detail = [...counted.problems, ...(difference ? [difference] : []), ...more].join("; ");
      damaged = true;
    } else if (more.length > 0) {
      check.state = "ahead";
      check.detail = more.join("; ");
      ahead = true;
    } else if (behind > 0) {
      check.state = "behind";
      check.detail = [`${behind} of ${s.total} rows missing`, ...(found.openRow ? [found.openRow] : [])].join("; ");
      missingRows += behind;
      held += check.rows - (found.openRow ? 1 : 0);
    } else {
      held += check.rows;
    }
  }
  for (const extra of existing) {
    segments.push({ path: extra, state: "ahead", detail: "a segment of this recording that the journal does not produce", rows: 0, expectedRows: 0 });
    ahead = true;
  }
  // Samples: the files hold a prefix of each stream (appended in order) or all of it; which segment
  // a chunk lands in may differ from the replay's, so the totals are compared.
  let samples: RecoverCheck["samples"];
  if (r.samples) {
    samples = {
      journal: r.samples.path,
      chunks: r.samples.chunks,
      rows: r.samples.rows,
      fileRows: fileSamples,
      ...(r.samples.torn ? { torn: r.samples.torn } : {}),
    };
    if (fileSamples < r.samples.rows) missingRows += r.samples.rows - fileSamples;
    else if (fileSamples > r.samples.rows) {
      segments.push({
        path: nwbPath,
        state: "ahead",
        detail: `the files hold ${fileSamples} samples, the sample journal ${r.samples.rows}`,
        rows: fileSamples,
        expectedRows: r.samples.rows,
      });
      ahead = true;
    }
  }
  // The longest prefix of events whose rows the file holds (rows only grow with each event).
  let covered = 0;
  while (covered < r.events && r.rowsAfter[covered + 1]! <= held) covered++;
  const state: RecordingState = ahead
    ? "ahead"
    : damaged
      ? "damaged"
      : !anyExisting && r.segments.length > 0
        ? "missing"
        : missingRows > 0
          ? "behind"
          : "complete";
  return {
    state,
    behindEvents: state === "complete" || state === "ahead" ? 0 : damaged ? r.events : r.events - covered,
    missingRows,
    segments,
    ...(samples ? { samples } : {}),
  };
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
  if (options.out !== undefined && resolve(options.out) === resolve(journalPath)) {
    throw new UsageError(`--out ${options.out} is the journal itself; name a new NWB file`);
  }
  const live = writerLiveness(header.writer);
  const target = resolve(options.out ?? header.nwbPath);
  // beside the journal (`<file>.journal.jsonl` → `<file>.samples.bin`), wherever the recording was moved
  const samplesPath = journalPath.endsWith(JOURNAL_SUFFIX)
    ? sampleJournalPathFor(journalPath.slice(0, -JOURNAL_SUFFIX.length))
    : sampleJournalPathFor(header.nwbPath);
  let samples: SampleJournalReader | undefined;
  if (
    await stat(samplesPath).then(
      () => true,
      () => false,
    )
  ) {
    samples = SampleJournalReader.open(samplesPath);
    const want = header.meta.identifier;
    if (want !== undefined && samples.header.identifier !== want) {
      samples.close();
      throw new UsageError(`${samplesPath} belongs to another recording (identifier ${samples.header.identifier}, the journal's is ${want}); move it away`);
    }
  }
  let r: Replay;
  try {
    r = await replay(reader, target, samples);
  } finally {
    samples?.close();
  }
  try {
    if (live === "alive" && !r.cleanClose) {
      throw new RecoverLiveError(
        `${header.nwbPath} is still being recorded by process ${header.writer!.pid} (its journal has no clean close and that process is running); ` +
          "stop the recording (Ctrl-C) first; it closes the file itself, and recover is only needed if it was killed",
      );
    }
    const identifier = header.meta.identifier ?? derivedIdentifier(header);
    const verdict = await compare(header.nwbPath, identifier, r);
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
    if (check.state === "ahead" && (options.out === undefined || resolve(options.out) === resolve(header.nwbPath))) {
      throw new RecoverRefusedError(
        `${header.nwbPath} holds more than its journal (${describeState(check)}): the journal is short or damaged, so rebuilding would lose events the files hold; ` +
          "nothing was changed (use --out NEW.nwb to write what the journal has elsewhere)",
        check,
      );
    }
    // The output being replaced: its first file and the segments recognised as its own.
    const existing = await existingOutputFiles(target, options.out === undefined ? identifier : undefined);
    if (existing.length > 0 && !options.overwrite) {
      const why = options.out === undefined ? `${target} is ${describeState(check)}; ` : "";
      throw new RecoverRefusedError(
        `${why}${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; use --overwrite to replace${options.out === undefined ? ", or --out FILE to rebuild elsewhere" : ""}`,
        check,
      );
    }
    const finalPaths = r.segments.map((s) => join(dirname(target), basename(s.tempPath)));
    for (const p of finalPaths) {
      if (
        existing.includes(p) ||
        !(await stat(p).then(
          () => true,
          () => false,
        ))
      )
        continue;
      if (options.out === undefined && (await isCrashedSegment(p, header.created))) {
        if (!options.overwrite) throw new RecoverRefusedError(`${target} is ${describeState(check)}; ${p} already exists; use --overwrite to replace`, check);
        continue; // this recording's own segment, left unreadable by the crash: replaced below
      }
      throw new RecoverRefusedError(`${p} exists and is not part of this recording; nothing was changed (move it away or use --out elsewhere)`, check);
    }
    for (const old of existing) if (!finalPaths.includes(old)) await unlink(old);
    for (const [i, s] of r.segments.entries()) await moveFile(s.tempPath, finalPaths[i]!);
    result.action = "rebuilt";
    result.outputs = finalPaths;
    return result;
  } finally {
    await rm(r.tempDir, { recursive: true, force: true });
  }
}

/**
 * A segment the journal's recording wrote and a kill left unreadable: its NWB identifier cannot be
 * read, so it cannot be recognised by identity. It is taken for this recording's own when no NWB
 * identifier can be read from it and it was last written after the recording began (the recorder
 * never creates a segment over an existing file, so a file there that changed during the
 * recording and is broken is the one it was writing). A readable NWB file of another recording,
 * or a file older than the recording, is never taken.
 */
async function isCrashedSegment(path: string, recordingCreated: Date): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile() || info.mtimeMs < recordingCreated.getTime()) return false;
  return (await readNwbIdentifier(path)) === undefined;
}

/** A live recorder holds the recording: nothing is checked or rebuilt under it (ERR_RECOVER_REFUSED). */
export class RecoverLiveError extends NwbSettingsError<"ERR_RECOVER_REFUSED"> {
  constructor(message: string, file?: string) {
    super("ERR_RECOVER_REFUSED", message, { file });
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
    case "ahead": {
      const more = c.segments.filter((s) => s.state === "ahead");
      return `ahead of its journal (${more.map((s) => `${basename(s.path)}: ${s.detail}`).join("; ")})`;
    }
  }
}
