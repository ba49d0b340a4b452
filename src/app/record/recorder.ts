/**
 * A live recording: events from a producer → journal → sinks → NWB, until stopped.
 *
 * Time: producers stamp events on the local monotonic clock (seconds). The file's
 * session_start_time is the earliest time of the startup snapshot (the INITIAL events up to the
 * sentinel) or the recording start, whichever is earlier, so file times are never negative; an
 * event is stored at `timestamp - origin` seconds.
 *
 * Durability: each event is appended to the journal before any sink sees it; the journal makes it
 * durable within its sync interval; the NWB file is flushed on a timer so that after a kill it
 * is usually readable as it stands, and `recover` rebuilds it from the journal when it is not.
 *
 * Failures: an event a sink cannot hold is counted as rejected and the recording goes on. A fatal
 * failure (src/errors.ts `isFatal`: the output file cannot be created, written or flushed) ends the
 * recording: `run` closes what it can and rejects with that error, naming the file. Events already
 * journaled stay in the journal for `recover`.
 */
import { randomUUID } from "node:crypto";
import type { PipelineSettingsEvent } from "../../events/event.js";
import { isSentinel } from "../../events/event.js";
import { isFatal } from "../../errors.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { SegmentedOutput } from "../../output/segmented-output.js";
import type { JournalWriterId } from "../../journal/format.js";
import { thisWriter } from "../../journal/liveness.js";
import type { NwbOutput } from "../../output/output.js";
import { type SinkName, SinkSet } from "../../sinks/sink-set.js";
import type { DurabilityReport, RecordingObserver, SegmentStatus } from "./recording-observer.js";

/** Where accepted events go before the sinks (the journal); a no-op journal is allowed. */
export interface EventJournal {
  append(event: PipelineSettingsEvent): void;
  /** Make everything appended durable, record where the recording ended, and close. */
  close(closeTime?: number): Promise<void>;
  /** Remove the closed journal (a recording that wrote no file has nothing to recover). */
  discard?(): Promise<void>;
  /** Call `listener` with the number of events appended so far that are durable, each time it grows. */
  onDurable?(listener: (durableEvents: number) => void): void;
}

export interface JournalFactory {
  (info: {
    nwbPath: string;
    sinks: readonly SinkName[];
    meta: NwbMetadata;
    sessionStartTime: Date;
    timestampsReferenceTime: Date;
    created: Date;
    source?: string;
    writer?: JournalWriterId;
  }): Promise<EventJournal>;
}

export interface RecorderOptions {
  outPath: string;
  sinks: readonly SinkName[];
  meta: NwbMetadata;
  overwrite: boolean;
  /** HDF5 flush cadence (default 500 ms). */
  flushIntervalMs?: number;
  /** How long to wait for the startup snapshot to end before writing anyway (default 3 s). */
  startupWaitMs?: number;
  /** True once the source's startup sync is over (e.g. the producer is live): ends the wait early. */
  startupComplete?: () => boolean;
  journal?: JournalFactory;
  /**
   * Runs once the source is live, just before the first file and the journal are created (e.g.
   * removing a previous recording that `--overwrite` replaces, so a start that fails leaves it).
   */
  beforeCreate?: () => Promise<void>;
  /** Where events come from, for the journal header (e.g. "ezmsg://127.0.0.1:25978"). */
  source?: string;
  /** Local monotonic clock in seconds (the producer's clock). */
  monotonicNow?: () => number;
  wallNow?: () => Date;
  onEvent?: (event: PipelineSettingsEvent, stats: RecorderStats) => void;
  onError?: (message: string) => void;
  /** Runs once the output exists (after the startup snapshot): e.g. start recording data streams into it. */
  onOpen?: (output: NwbOutput) => Promise<void>;
  /** Runs before the sinks and the output close (e.g. write what data streams still hold). */
  beforeClose?: () => Promise<void>;
  /** Runs after the output closed; `clean`: every file closed without an error (e.g. drop the sample journal). */
  afterClose?: (clean: boolean) => Promise<void> | void;
}

export interface RecorderStats {
  events: number;
  rejected: number;
  lastComponent: string | undefined;
  outputs: string[];
  /** Set at a clean stop that wrote no file: the journal was removed (nothing to recover). */
  journalRemoved?: boolean;
}

/** Events accepted between two flushes at most (bounds memory during a burst). */
export const MAX_STAGED_EVENTS = 4096;
const STARTUP_POLL_MS = 25;
/** Longest stretch of writing without letting the event loop read sockets. */
const YIELD_EVERY_MS = 20;

export const defaultMonotonicNow = (): number => performance.now() / 1000;

/** File times of events waiting for a durability step, oldest first (a queue without shifting). */
class PendingTimes {
  private items: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(t: number): void {
    this.items.push(t);
  }

  /** Remove the oldest `n` (all when omitted); returns the smallest and largest live time among them. */
  take(n = this.length): { count: number; min: number; max: number } {
    const end = Math.min(this.items.length, this.head + n);
    let count = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = this.head; i < end; i++) {
      const t = this.items[i]!;
      if (Number.isNaN(t)) continue;
      count++;
      if (t < min) min = t;
      if (t > max) max = t;
    }
    this.head = end;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return { count, min, max };
  }
}

export class Recorder {
  readonly stats: RecorderStats = { events: 0, rejected: 0, lastComponent: undefined, outputs: [] };
  private sinks: SinkSet | undefined;
  private journal: EventJournal | undefined;
  private origin = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly mono: () => number;
  private readonly wall: () => Date;
  private readonly startMono: number;
  private readonly startWall: Date;
  private stopping = false;
  /** On stop, write what the source already delivered (the stream then ends by itself). */
  private draining = false;
  private lastYield = 0;
  private lastFileTime = 0;
  private sinceFlush = 0;
  private journaled = 0;
  private identifierValue: string | undefined;
  /** A fatal failure seen outside the run loop (the flush timer); ends the loop. */
  private fatal: { error: unknown } | undefined;
  private wakeOnFatal: (() => void) | undefined;
  private readonly fatalSeen = new Promise<"fatal">((resolve) => {
    this.wakeOnFatal = () => resolve("fatal");
  });
  /** Wakes the run loop to settle a quiet held run (see the flush timer). */
  private wakeLoop: (() => void) | undefined;
  private lastAcceptMono = 0;
  private readonly observers = new Set<RecordingObserver>();
  /** The latest accepted event of each component (what an observer that starts late is shown). */
  private readonly latest = new Map<string, PipelineSettingsEvent>();
  /** Events of the startup snapshot carry the time of an old change: no latency is measured for them. */
  private inStartup = true;
  /** Live events appended to the journal and not yet synced (NaN: not live), in append order. */
  private readonly journalPending = new PendingTimes();
  private journalDurableSeen = 0;
  /** Live events written to the sinks since the last flush. */
  private readonly filePending = new PendingTimes();
  private phase: "starting" | "recording" | "stopping" | "stopped" = "starting";
  private referenceTime: Date | undefined;

  constructor(private readonly options: RecorderOptions) {
    this.mono = options.monotonicNow ?? defaultMonotonicNow;
    this.wall = options.wallNow ?? (() => new Date());
    this.startMono = this.mono();
    this.startWall = this.wall();
    // HDF5 loads while the source connects and sends its startup snapshot.
    SegmentedOutput.preload();
  }

  /** Consume events until the stream ends or {@link stop} is called; then close everything. */
  async run(events: AsyncIterable<PipelineSettingsEvent>): Promise<RecorderStats> {
    const iterator = events[Symbol.asyncIterator]();
    try {
      const { batch, pending } = await this.readStartup(iterator);
      await this.open(batch);
      for (const e of batch) await this.accept(e);
      this.inStartup = false;
      if (this.phase === "starting") this.phase = "recording";
      await this.options.onOpen?.(this.sinks!.output);
      // The startup snapshot goes to disk at once: the first rows are readable without waiting
      // for the timer.
      this.flush();
      const interval = this.options.flushIntervalMs ?? 500;
      this.flushTimer = setInterval(() => {
        this.flush();
        // A run of INITIAL events held for merging (components that joined after the start) that
        // has gone quiet for a flush interval is written now, not when the next change comes.
        if (this.sinks?.holding && this.mono() - this.lastAcceptMono >= interval / 1000) this.wakeLoop?.();
      }, interval);
      this.flushTimer.unref();
      this.throwIfFatal();
      let next = pending ?? iterator.next();
      let wake = this.nextWake();
      for (;;) {
        // Once a stop is requested (without drain), events the source has already delivered (they
        // arrived while the file was being opened or an event written) are still taken; nothing
        // more is awaited. With drain, the loop goes on until the stream ends by itself.
        const r = await Promise.race([this.stopping && !this.draining ? deliveredNow(next) : next, this.fatalSeen, wake]);
        this.throwIfFatal();
        if (r === "settle") {
          await this.sinks!.settle();
          this.flush();
          wake = this.nextWake();
          continue;
        }
        if (r === undefined || r === "fatal" || r.done) break;
        this.lastAcceptMono = this.mono();
        await this.accept(r.value);
        // A burst faster than the timer flushes in batches, so staged rows stay bounded.
        if (++this.sinceFlush >= MAX_STAGED_EVENTS) this.flush();
        this.throwIfFatal();
        next = iterator.next();
        // Yield to the event loop now and then, so a backlog being written never stops the
        // socket from being read (the source would otherwise see a slow reader).
        if (performance.now() - this.lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((r) => setImmediate(r));
          this.lastYield = performance.now();
        }
      }
    } catch (err) {
      // End the recording; closing may fail the same way, but the first failure is the one to report.
      await this.finish(false).catch(() => undefined);
      throw err;
    }
    await this.finish(true);
    return this.stats;
  }

  /** A promise the flush timer resolves to have the run loop settle a quiet held run. */
  private nextWake(): Promise<"settle"> {
    return new Promise<"settle">((resolve) => {
      this.wakeLoop = () => {
        this.wakeLoop = undefined;
        resolve("settle");
      };
    });
  }

  private throwIfFatal(): void {
    if (this.fatal) throw this.fatal.error;
  }

  /** Ask the run loop to finish; the caller also ends the event stream (producer.stop()). */
  requestStop(options: { drain?: boolean } = {}): void {
    this.stopping = true;
    if (this.phase !== "stopped") this.phase = "stopping";
    this.draining = options.drain ?? false;
  }

  /** The segment being written (for a status line). */
  get currentPath(): string {
    return this.sinks?.output.open?.path ?? this.options.outPath;
  }

  /**
   * Watch the recording (the monitor page): `observer.current` gets the latest event of every
   * component so far at once, then every event and durability step as it happens.
   */
  observe(observer: RecordingObserver): () => void {
    this.observers.add(observer);
    try {
      observer.current?.([...this.latest.values()]);
    } catch {
      // an observer never disturbs the recording
    }
    return () => this.observers.delete(observer);
  }

  get state(): "starting" | "recording" | "stopping" | "stopped" {
    return this.phase;
  }

  /** Wall-clock time of file time 0, once the output's clock is set. */
  get fileReferenceTime(): Date | undefined {
    return this.referenceTime;
  }

  /** The files of the output so far (sizes are the caller's business: 0 here). */
  segments(): SegmentStatus[] {
    return (this.sinks?.output.segments ?? []).map((s) => ({ path: s.path, index: s.index, rows: s.rows, bytes: 0 }));
  }

  private notify(call: (o: RecordingObserver) => void): void {
    for (const o of this.observers) {
      try {
        call(o);
      } catch {
        // an observer never disturbs the recording
      }
    }
  }

  private reportDurable(where: DurabilityReport["where"], batch: { count: number; min: number; max: number }): void {
    if (batch.count === 0 || this.observers.size === 0) return;
    const at = this.fileTimeNow();
    const report: DurabilityReport = { where, at, events: batch.count, oldestSeconds: at - batch.min, newestSeconds: at - batch.max };
    this.notify((o) => o.durable?.(report));
  }

  /** Settings events handed to the journal so far (accepted or rejected by the sinks). */
  get journaledEvents(): number {
    return this.journaled;
  }

  /** Start the next segment at file time `t` (`--split-bytes`): every sink opens it with the current state. */
  async splitOutput(t: number): Promise<void> {
    await this.sinks?.split(t);
  }

  /** The NWB identifier of the recording's files; set when the output opens. */
  get identifier(): string | undefined {
    return this.identifierValue;
  }

  /** Local monotonic time (s) of file time 0; set when the output opens. */
  get originMonotonic(): number {
    return this.origin;
  }

  /** Current recording time in file seconds (for close and status). */
  fileTimeNow(): number {
    return this.mono() - this.origin;
  }

  /**
   * The startup snapshot: events up to the sentinel (or the first non-INITIAL event), waiting at
   * most `startupWaitMs`. A `next()` still pending at the deadline is handed back, not dropped.
   */
  private async readStartup(
    iterator: AsyncIterator<PipelineSettingsEvent>,
  ): Promise<{ batch: PipelineSettingsEvent[]; pending?: Promise<IteratorResult<PipelineSettingsEvent>> }> {
    const batch: PipelineSettingsEvent[] = [];
    const deadline = Date.now() + (this.options.startupWaitMs ?? 3000);
    while (!this.stopping) {
      const next = iterator.next();
      let timer: NodeJS.Timeout | undefined;
      // Stop waiting at the deadline, or as soon as the source says its startup sync is over
      // (an empty source sends no snapshot, so nothing else would end the wait).
      const timeout = new Promise<"timeout">((r) => {
        const tick = (): void => {
          const left = deadline - Date.now();
          if (left <= 0 || this.options.startupComplete?.()) r("timeout");
          else timer = setTimeout(tick, Math.min(left, STARTUP_POLL_MS));
        };
        timer = setTimeout(tick, Math.min(Math.max(0, deadline - Date.now()), STARTUP_POLL_MS));
      });
      const r = await Promise.race([next, timeout]);
      clearTimeout(timer);
      if (r === "timeout") return { batch, pending: next };
      if (r.done) return { batch, pending: Promise.resolve(r) };
      batch.push(r.value);
      if (isSentinel(r.value) || r.value.event_type !== "INITIAL") break;
    }
    return { batch };
  }

  private async open(startup: PipelineSettingsEvent[]): Promise<void> {
    await this.options.beforeCreate?.();
    const earliest = Math.min(this.startMono, ...startup.map((e) => e.timestamp));
    this.origin = earliest;
    const sessionStart = new Date(this.startWall.getTime() - (this.startMono - earliest) * 1000);
    // One identifier and creation time for the live file and its journal, so that `recover`
    // rebuilds the very same file.
    const meta: NwbMetadata = {
      ...this.options.meta,
      identifier: this.options.meta.identifier ?? randomUUID(),
      session_start_time: this.options.meta.session_start_time ?? sessionStart,
    };
    this.identifierValue = meta.identifier;
    const reference = sessionStart;
    this.referenceTime = reference;
    const created = this.wall();
    const output = new SegmentedOutput(this.options.outPath, meta, { overwrite: this.options.overwrite, timestampsReferenceTime: reference, now: created });
    this.sinks = new SinkSet(this.options.sinks, output);
    if (this.options.journal) {
      this.journal = await this.options.journal({
        nwbPath: this.options.outPath,
        sinks: this.options.sinks,
        meta,
        sessionStartTime: meta.session_start_time!,
        timestampsReferenceTime: reference,
        created,
        ...(this.options.source !== undefined ? { source: this.options.source } : {}),
        writer: thisWriter(),
      });
      this.journal.onDurable?.((durable) => {
        const n = durable - this.journalDurableSeen;
        this.journalDurableSeen = durable;
        if (n > 0) this.reportDurable("journal", this.journalPending.take(n));
      });
    }
  }

  private async accept(raw: PipelineSettingsEvent): Promise<void> {
    const event = { ...raw, timestamp: raw.timestamp - this.origin };
    const live = this.inStartup ? Number.NaN : event.timestamp;
    if (this.journal) {
      this.journal.append(event);
      if (this.journal.onDurable) this.journalPending.push(live);
    }
    this.journaled++;
    try {
      await this.sinks!.write(event);
      this.stats.events++;
      this.stats.lastComponent = event.component_address;
      this.lastFileTime = Math.max(this.lastFileTime, event.timestamp);
      this.filePending.push(live);
      if (!isSentinel(event)) this.latest.set(event.component_address, event);
      this.options.onEvent?.(event, this.stats);
      this.notify((o) => o.accepted?.(event));
    } catch (err) {
      if (isFatal(err)) throw err;
      this.stats.rejected++;
      const reason = (err as Error).message;
      this.options.onError?.(`event seq ${event.seq} of ${JSON.stringify(event.component_address)} not written: ${reason}`);
      this.notify((o) => o.rejected?.(event, reason));
    }
  }

  private flush(): void {
    this.sinceFlush = 0;
    try {
      this.sinks?.flush(this.fileTimeNow());
      this.reportDurable("file", this.filePending.take());
    } catch (err) {
      if (isFatal(err)) {
        this.fatal ??= { error: err };
        this.wakeOnFatal?.();
        return;
      }
      this.options.onError?.(`flush failed: ${(err as Error).message}`);
    }
  }

  /** `clean`: the run ended without a fatal error (only then may an empty recording's journal go). */
  private async finish(clean: boolean): Promise<void> {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    try {
      await this.options.beforeClose?.();
    } catch (err) {
      this.options.onError?.(`closing the data streams failed: ${(err as Error).message}`);
    }
    const closeTime = Math.max(this.lastFileTime, this.fileTimeNow());
    let closed = false;
    try {
      if (this.sinks) {
        await this.sinks.close(closeTime);
        this.stats.outputs = this.sinks.output.writtenSegments.map((s) => s.path);
        this.reportDurable("file", this.filePending.take());
      }
      closed = true;
    } finally {
      await this.journal?.close(closeTime);
      await this.options.afterClose?.(clean && closed);
      this.phase = "stopped";
    }
    // Only after a clean close of both: a recording without a single row has nothing to recover.
    if (clean && this.journal?.discard && this.sinks && this.stats.outputs.length === 0) {
      await this.journal.discard();
      this.stats.journalRemoved = true;
    }
  }
}

/** `next` if it is already settled (resolves within this turn of the event loop), else undefined. */
function deliveredNow<T>(next: Promise<T>): Promise<T | undefined> {
  return Promise.race([next, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))]);
}
