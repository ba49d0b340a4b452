/**
 * The sample journal: every chunk of a data stream the recorder acknowledges is appended here
 * first, so a `kill -9` loses no acknowledged sample (docs/reliability.md, "What a crash costs").
 * It sits beside the NWB file as `<file>.samples.bin` and is removed at a clean stop (the file is
 * then complete); after a kill, `recover` replays it with the event journal.
 *
 * Durability, as the event journal: `append` hands the record to the OS in one synchronous write
 * before it returns (it survives a crash or SIGKILL of this process); an `fdatasync` follows within
 * `syncIntervalMs` (survives a power loss). A failed write is fatal (JournalError): the caller must
 * not acknowledge the chunk.
 *
 * Format (little-endian): the 8-byte magic `NWBSMP01`, then records, each
 * ```
 * u32 meta_length  u32 crc32(meta + body)  meta (UTF-8 JSON)  body (meta.bodyBytes bytes)
 * ```
 * The first record is the header (`{"header": {...}}`, no body). A chunk record's meta holds the
 * stream, the chunk's description and `events`: how many settings events were journaled before it
 * (so a replay interleaves samples and settings as they were written); its body is the sample
 * bytes, then for irregular time one float64 timestamp per sample. A split record
 * (`{"split": t, "events": n}`, no body) marks where `--split-bytes` started the next segment. A torn or corrupt tail (a kill
 * mid-write) ends the readable journal there: everything before it is intact.
 */
import { closeSync, fdatasync, openSync, readSync, fstatSync, unlinkSync, writeSync } from "node:fs";
import { crc32 } from "node:zlib";
import { JournalError } from "../errors.js";
import type { SampleType } from "../nwb/hdf5/sample-dataset.js";
import type { SampleChunk } from "../nwb/stream-writer.js";

export const SAMPLE_JOURNAL_SUFFIX = ".samples.bin";
const MAGIC = Buffer.from("NWBSMP01", "latin1");
/** Longest meta accepted on reading (labels of many channels fit easily). */
const MAX_META_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SAMPLE_SYNC_INTERVAL_MS = 1000;

export function sampleJournalPathFor(nwbPath: string): string {
  return `${nwbPath}${SAMPLE_JOURNAL_SUFFIX}`;
}

export interface SampleJournalHeader {
  nwbPath: string;
  /** The recording's NWB identifier (ties this journal to its event journal and files). */
  identifier: string;
  /** Electrode location the streams' ElectricalSeries were written with. */
  electrodeLocation?: string;
}

export interface SampleRecord {
  kind: "chunk";
  topic: string;
  /** Settings events journaled before this chunk. */
  events: number;
  chunk: SampleChunk;
}

/** `record --split-bytes` started the next segment here, at file time `time`, after `events` settings events. */
export interface SplitRecord {
  kind: "split";
  events: number;
  time: number;
}

export type SampleJournalRecord = SampleRecord | SplitRecord;

interface ChunkMeta {
  topic: string;
  events: number;
  type: SampleType;
  rows: number;
  sampleShape: number[];
  time: { start: number; rate: number } | "timestamps";
  labels?: string[];
  unit: string;
  conversion: number;
  offset: number;
  sampleBytes: number;
  bodyBytes: number;
}

function record(meta: object, body: readonly Uint8Array[]): Buffer[] {
  const m = Buffer.from(JSON.stringify(meta), "utf8");
  let crc = crc32(m);
  for (const b of body) crc = crc32(b, crc);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(m.length, 0);
  head.writeUInt32LE(crc >>> 0, 4);
  return [head, m, ...body.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
}

function writeAll(fd: number, parts: readonly Buffer[]): void {
  for (const p of parts) {
    let off = 0;
    while (off < p.length) off += writeSync(fd, p, off, p.length - off);
  }
}

export class SampleJournalWriter {
  /** Bytes of samples journaled. */
  bytes = 0;
  private dirty = false;
  private syncing = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private failure: JournalError | undefined;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly syncIntervalMs: number,
  ) {}

  /** Create the journal (refusing an existing one unless `overwrite`) with its header record. */
  static create(path: string, header: SampleJournalHeader, options: { overwrite?: boolean; syncIntervalMs?: number } = {}): SampleJournalWriter {
    let fd: number;
    try {
      fd = openSync(path, options.overwrite ? "w" : "wx");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "EEXIST")
        throw new JournalError(
          `sample journal ${path} already exists (it may hold an unrecovered recording: run "nwb-settings recover" on its journal, or remove it)`,
        );
      throw new JournalError(`cannot create sample journal ${path}: ${e.message}`);
    }
    try {
      writeAll(fd, [MAGIC, ...record({ header }, [])]);
    } catch (err) {
      closeSync(fd);
      throw new JournalError(`cannot write sample journal ${path}: ${(err as Error).message}`);
    }
    return new SampleJournalWriter(path, fd, Math.max(0, options.syncIntervalMs ?? DEFAULT_SAMPLE_SYNC_INTERVAL_MS));
  }

  /** Journal one chunk: in the OS (survives a kill of this process) when this returns. */
  append(topic: string, events: number, chunk: SampleChunk): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new JournalError(`sample journal ${this.path} is closed`);
    const ts = "timestamps" in chunk.time ? chunk.time.timestamps : undefined;
    const tsBytes = ts ? new Uint8Array(ts.buffer, ts.byteOffset, ts.byteLength) : undefined;
    const meta: ChunkMeta = {
      topic,
      events,
      type: chunk.type,
      rows: chunk.rows,
      sampleShape: [...chunk.sampleShape],
      time: "timestamps" in chunk.time ? "timestamps" : { start: chunk.time.start, rate: chunk.time.rate },
      ...(chunk.channelLabels ? { labels: [...chunk.channelLabels] } : {}),
      unit: chunk.unit,
      conversion: chunk.conversion,
      offset: chunk.offset,
      sampleBytes: chunk.bytes.byteLength,
      bodyBytes: chunk.bytes.byteLength + (tsBytes?.byteLength ?? 0),
    };
    try {
      writeAll(this.fd, record(meta, tsBytes ? [chunk.bytes, tsBytes] : [chunk.bytes]));
    } catch (err) {
      this.failure = new JournalError(`cannot write sample journal ${this.path}: ${(err as Error).message}`);
      throw this.failure;
    }
    this.bytes += chunk.bytes.byteLength;
    this.dirty = true;
    if (!this.syncTimer && !this.syncing) {
      this.syncTimer = setTimeout(() => this.sync(), this.syncIntervalMs);
      this.syncTimer.unref();
    }
  }

  /** Journal a size split (the replay starts the next segment at the same point). */
  appendSplit(events: number, time: number): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new JournalError(`sample journal ${this.path} is closed`);
    try {
      writeAll(this.fd, record({ split: time, events, bodyBytes: 0 }, []));
    } catch (err) {
      this.failure = new JournalError(`cannot write sample journal ${this.path}: ${(err as Error).message}`);
      throw this.failure;
    }
  }

  private sync(): void {
    this.syncTimer = undefined;
    if (this.closed || !this.dirty) return;
    this.dirty = false;
    this.syncing = true;
    fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err && !this.closed) this.failure ??= new JournalError(`cannot sync sample journal ${this.path}: ${err.message}`);
      if (this.dirty && !this.closed && !this.syncTimer) {
        this.syncTimer = setTimeout(() => this.sync(), this.syncIntervalMs);
        this.syncTimer.unref();
      }
    });
  }

  /** Close; with `discard` (a clean stop: the NWB file holds every sample) remove the journal. */
  close(discard: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    try {
      closeSync(this.fd);
    } catch {
      // closing a journal that is removed next, or whose write already failed
    }
    if (discard) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}

/** Where a sample journal stopped being readable (a kill mid-write): the records before it are intact. */
export interface SampleJournalTail {
  offset: number;
  problem: string;
}

export class SampleJournalReader {
  /** Set after {@link records} ended at a torn or corrupt record. */
  torn: SampleJournalTail | undefined;

  private constructor(
    readonly path: string,
    readonly header: SampleJournalHeader,
    private readonly fd: number,
    private readonly start: number,
  ) {}

  static open(path: string): SampleJournalReader {
    const fd = openSync(path, "r");
    try {
      const magic = Buffer.alloc(8);
      if (readSync(fd, magic, 0, 8, 0) !== 8 || !magic.equals(MAGIC)) throw new JournalError(`${path} is not an nwb-settings sample journal`);
      const first = readRecord(fd, 8, fstatSync(fd).size);
      if ("problem" in first || !first.meta || typeof first.meta["header"] !== "object")
        throw new JournalError(`${path}: sample journal header unreadable${"problem" in first ? ` (${first.problem})` : ""}`);
      return new SampleJournalReader(path, first.meta["header"] as SampleJournalHeader, fd, first.next);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** Every intact record, in order. */
  *records(): Generator<SampleJournalRecord> {
    const size = fstatSync(this.fd).size;
    let at = this.start;
    while (at < size) {
      const r = readRecord(this.fd, at, size);
      if ("problem" in r) {
        this.torn = { offset: at, problem: r.problem };
        return;
      }
      const split = r.meta["split"];
      if (typeof split === "number") yield { kind: "split", events: Number(r.meta["events"]), time: split };
      else yield toSampleRecord(r.meta as unknown as ChunkMeta, r.body);
      at = r.next;
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

function readRecord(fd: number, at: number, size: number): { meta: Record<string, unknown>; body: Buffer; next: number } | { problem: string } {
  if (size - at < 8) return { problem: "torn record header" };
  const head = Buffer.alloc(8);
  readSync(fd, head, 0, 8, at);
  const metaLen = head.readUInt32LE(0);
  const crc = head.readUInt32LE(4);
  if (metaLen > MAX_META_BYTES || at + 8 + metaLen > size) return { problem: "torn record" };
  const m = Buffer.alloc(metaLen);
  readSync(fd, m, 0, metaLen, at + 8);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(m.toString("utf8")) as Record<string, unknown>;
  } catch {
    return { problem: "corrupt record meta" };
  }
  const bodyBytes = typeof meta["bodyBytes"] === "number" ? meta["bodyBytes"] : 0;
  if (!Number.isSafeInteger(bodyBytes) || bodyBytes < 0 || at + 8 + metaLen + bodyBytes > size) return { problem: "torn record body" };
  const body = Buffer.alloc(bodyBytes);
  if (bodyBytes > 0) readSync(fd, body, 0, bodyBytes, at + 8 + metaLen);
  if (crc32(body, crc32(m)) >>> 0 !== crc) return { problem: "checksum mismatch" };
  return { meta, body, next: at + 8 + metaLen + bodyBytes };
}

function toSampleRecord(m: ChunkMeta, body: Buffer): SampleRecord {
  const bytes = new Uint8Array(body.buffer, body.byteOffset, m.sampleBytes);
  let time: SampleChunk["time"];
  if (m.time === "timestamps") {
    const ts = new Float64Array(m.rows);
    new Uint8Array(ts.buffer).set(body.subarray(m.sampleBytes, m.sampleBytes + m.rows * 8));
    time = { timestamps: ts };
  } else {
    time = { start: m.time.start, rate: m.time.rate };
  }
  const chunk: SampleChunk = {
    type: m.type,
    bytes,
    rows: m.rows,
    sampleShape: m.sampleShape,
    time,
    ...(m.labels ? { channelLabels: m.labels } : {}),
    unit: m.unit,
    conversion: m.conversion,
    offset: m.offset,
  };
  return { kind: "chunk", topic: m.topic, events: m.events, chunk };
}
