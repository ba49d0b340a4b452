/**
 * One live recording as a unit a test or the CLI can start and stop: an optional embedded hub,
 * the producer reading the source (with reconnects), the recorder writing journal + sinks.
 */
import { stat, unlink } from "node:fs/promises";
import { OutputExistsError } from "../../output/segment-names.js";
import { journalPathFor } from "../../journal/format.js";
import { JournalReader } from "../../journal/reader.js";
import { writerLiveness } from "../../journal/liveness.js";
import { existingOutputFiles, pathExists } from "../../output/segment-names.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { HubServer } from "../../producer/hub/hub-server.js";
import { type ProducerLogger, type ProducerScope, type SettingsProducer, createProducer } from "../../producer/producer.js";
import { sourceFactoryFromUrl } from "../../producer/source-url.js";
import { journalBeside } from "../../journal/writer.js";
import { SampleJournalWriter, sampleJournalPathFor } from "../../journal/sample-journal.js";
import { Recorder, type RecorderStats } from "./recorder.js";
import type { SinkName } from "../../sinks/sink-set.js";
import type { PipelineSettingsEvent } from "../../events/event.js";
import { systemClock } from "../../producer/producer.js";
import type { OverflowPolicy, StreamClock } from "./stream-options.js";
import type { StreamRecording } from "./stream-recording.js";
import { UsageError } from "../../errors.js";
import type { ObservableRecording, RecordingObserver, RecordingStatus } from "./recording-observer.js";

/** `record --streams`: which ezmsg topics, on which clock, and what a full buffer does. */
export interface StreamsOptions {
  patterns: readonly string[];
  clock: StreamClock;
  onOverflow: OverflowPolicy;
  bufferBytes?: number;
  electrodeLocation?: string;
  /** Start the next segment once this many sample bytes are in the current one (`--split-bytes`). */
  splitBytes?: number;
}

export interface RecordOptions {
  /** `embedded`, `ws://HOST:PORT` or `ezmsg://HOST:PORT` (bare `ezmsg://`: the default GraphServer). */
  source: string;
  outPath: string;
  sinks: readonly SinkName[];
  meta: NwbMetadata;
  overwrite: boolean;
  scope?: ProducerScope;
  /** Port of the embedded hub (default: 7341; 0 picks a free one). */
  hubPort?: number;
  flushIntervalMs?: number;
  startupWaitMs?: number;
  logger?: ProducerLogger;
  onEvent?: (event: PipelineSettingsEvent, stats: RecorderStats) => void;
  onError?: (message: string) => void;
  /**
   * Data streams to record: an `ezmsg://` source's topics, or a hub's sample streams (with a hub
   * source, by default every declared stream, on the system clock, `block`).
   */
  streams?: StreamsOptions;
  /** Messages about the data streams. */
  onStreamLog?: (message: string) => void;
  /** Watches the recording from its first event (e.g. the monitor page); more can {@link RecordSession.observe} later. */
  observer?: RecordingObserver;
}

export const DEFAULT_HUB_PORT = 7341;
/** A hub source records every sample stream its publishers declare unless `--streams` narrows them. */
export const DEFAULT_HUB_STREAMS: StreamsOptions = { patterns: ["*"], clock: "system", onOverflow: "block" };
/** Parsed events a recorder holds between its source and its sinks. */
export const RECORDER_BUFFERED_EVENTS = 256;
/** Longest a stop waits for a recorder that fell behind to write what the source already holds. */
export const CATCH_UP_MS = 30_000;

export class RecordSession implements ObservableRecording {
  private stopping: Promise<RecorderStats> | undefined;
  /** At stop: events the recorder was still behind the source by, and whether it caught up. */
  caughtUp: { waitedFor: number; reached: boolean } | undefined;

  private constructor(
    readonly recorder: Recorder,
    readonly producer: SettingsProducer,
    readonly hub: HubServer | undefined,
    readonly sourceDescription: string,
    private readonly done: Promise<RecorderStats>,
    private readonly streamsRef: StreamsRef,
    private readonly outPath: string,
  ) {
    this.sourceLabel = hub ? `embedded hub ${hub.url}` : sourceDescription; // the hub's address is gone once it closes
  }

  private readonly sourceLabel: string;

  /** The data-stream recording, once the output is open (with --streams). */
  get streams(): StreamRecording | null {
    return this.streamsRef.current;
  }

  static async start(options: RecordOptions): Promise<RecordSession> {
    const journal = journalPathFor(options.outPath);
    const sampleJournal = sampleJournalPathFor(options.outPath);
    const existing = await existingOutputFiles(options.outPath);
    if (await pathExists(journal)) existing.push(journal);
    if (await pathExists(sampleJournal)) existing.push(sampleJournal);
    if (existing.length > 0 && !options.overwrite) {
      throw new OutputExistsError(
        `${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; use --overwrite to replace, or choose another --out`,
      );
    }
    await refuseLiveRecording(journal);
    // The previous recording is removed only once this one is live and about to create its first
    // file: a start that fails (busy port, unreachable source) leaves it as it was.
    const removePrevious = async (): Promise<void> => {
      await refuseLiveRecording(journal);
      for (const old of existing)
        await unlink(old).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw new OutputExistsError(`cannot replace ${old}: ${err.message}`);
        });
    };
    let hub: HubServer | undefined;
    let url = options.source;
    if (options.source === "embedded") {
      hub = await HubServer.start({ port: options.hubPort ?? DEFAULT_HUB_PORT });
      url = hub.url;
    }
    try {
      const producer = createProducer(sourceFactoryFromUrl(url), {
        scope: options.scope ?? "all",
        // What a recorder that falls behind holds in memory: at most this many parsed events here,
        // plus the hub reader's 16 MiB; beyond that the source waits (a hub holds its publishers).
        maxBufferedEvents: RECORDER_BUFFERED_EVENTS,
        ...(options.logger ? { logger: options.logger } : {}),
      });
      let started: () => void = () => {};
      const streamsRef: StreamsRef = { current: null, close: async () => {}, started: new Promise<void>((r) => (started = r)) };
      let samples: SampleJournalWriter | null = null;
      const fromHub = /^wss?:\/\//i.test(url);
      const streams = options.streams ?? (fromHub ? DEFAULT_HUB_STREAMS : undefined);
      if (streams && !fromHub && !url.startsWith("ezmsg://")) throw new UsageError("--streams needs an ezmsg:// or a hub (ws://, embedded) source");
      const recorder: Recorder = new Recorder({
        outPath: options.outPath,
        sinks: options.sinks,
        meta: options.meta,
        overwrite: options.overwrite,
        journal: journalBeside({ overwrite: options.overwrite }),
        ...(existing.length > 0 ? { beforeCreate: removePrevious } : {}),
        source: hub ? `embedded hub ${hub.url}` : url,
        ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
        ...(options.startupWaitMs !== undefined ? { startupWaitMs: options.startupWaitMs } : {}),
        startupComplete: () => producer.status.state === "live",
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
        ...(streams
          ? {
              onOpen: async (output) => {
                const origin = recorder.originMonotonic;
                const hrMinusPerf = monotonicOffset();
                const { StreamRecording } = await import("./stream-recording.js");
                let feed: import("./hub-stream-feed.js").HubStreamFeed | null = null;
                samples = SampleJournalWriter.create(
                  sampleJournal,
                  {
                    nwbPath: options.outPath,
                    identifier: recorder.identifier ?? "",
                    ...(streams.electrodeLocation !== undefined ? { electrodeLocation: streams.electrodeLocation } : {}),
                  },
                  { overwrite: options.overwrite },
                );
                const rec = new StreamRecording({
                  ...(fromHub
                    ? {
                        describe: (topic: string) => feed?.describe(topic) ?? topic,
                        device: {
                          name: "hub_pipeline",
                          description:
                            "The pipeline that published the recorded sample streams to the nwb-settings hub (hardware not described by the source).",
                        },
                      }
                    : { graphAddress: url.slice("ezmsg://".length) || (process.env["EZMSG_GRAPHSERVER_ADDR"] ?? "127.0.0.1:25978") }),
                  patterns: streams.patterns,
                  clock: streams.clock,
                  onOverflow: streams.onOverflow,
                  ...(streams.bufferBytes !== undefined ? { bufferBytes: streams.bufferBytes } : {}),
                  ...(streams.electrodeLocation !== undefined ? { electrodeLocation: streams.electrodeLocation } : {}),
                  output,
                  journal: { writer: samples, eventsJournaled: () => recorder.journaledEvents },
                  ...(streams.splitBytes !== undefined
                    ? {
                        splitBytes: streams.splitBytes,
                        split: async () => {
                          const t = recorder.fileTimeNow();
                          // journaled first: a replay splits at the same point between the settings events
                          samples!.appendSplit(recorder.journaledEvents, t);
                          await recorder.splitOutput(t);
                        },
                      }
                    : {}),
                  fileTime: {
                    system: (t) => t - systemClock.wallMinusMonotonic!() - origin,
                    monotonic: (t) => t - hrMinusPerf - origin,
                    now: () => performance.now() / 1000 - origin,
                  },
                  ...(options.onStreamLog ? { onLog: options.onStreamLog } : {}),
                });
                streamsRef.current = rec;
                streamsRef.close = async () => {
                  await feed?.close();
                  await rec.close();
                };
                if (fromHub) {
                  const { HubStreamFeed } = await import("./hub-stream-feed.js");
                  feed = new HubStreamFeed(url, rec, streams.patterns, options.onStreamLog);
                  await feed.start();
                } else {
                  await rec.start();
                }
                started();
              },
              beforeClose: async () => {
                await streamsRef.close();
              },
              // The sample journal goes once the file holds every sample (a clean close); after a
              // failure or a kill it stays for `recover`.
              afterClose: (clean) => samples?.close(clean && streamsRef.current?.error === null),
            }
          : {}),
      });
      if (options.observer) recorder.observe(options.observer);
      const done = recorder.run(producer).catch(async (err: unknown) => {
        // The recording failed (e.g. the journal or the file cannot be created): end the producer
        // and the hub too, or their sockets and retry timers keep the process running forever.
        await producer.stop().catch(() => {});
        await hub?.close().catch(() => {});
        throw err;
      });
      done.catch(() => {}); // reported to whoever awaits `finished` or `stop()`, never unhandled
      return new RecordSession(recorder, producer, hub, url, done, streamsRef, options.outPath);
    } catch (err) {
      await hub?.close();
      throw err;
    }
  }

  /**
   * Resolves once the data streams are subscribed (a hub source's sample streams, ezmsg topics),
   * so a publisher that starts sending then loses nothing; rejects if the recording fails first.
   */
  streamsStarted(): Promise<void> {
    return Promise.race([this.streamsRef.started, this.done.then(() => Promise.reject(new Error("the recording ended before its streams started")))]);
  }

  /** Resolves when the recording ends by itself (the producer gave up) or after {@link stop}. */
  get finished(): Promise<RecorderStats> {
    return this.done;
  }

  /** Stop now: close the open interval at the current time, flush, close journal and hub. */
  stop(): Promise<RecorderStats> {
    this.stopping ??= (async () => {
      // Everything the source held at the stop is read and written before the file closes (a
      // recorder that fell behind catches up first, at most CATCH_UP_MS), then what was delivered.
      const caught = await this.producer.catchUp(CATCH_UP_MS).catch(() => ({ waitedFor: 0, reached: false }));
      this.caughtUp = caught;
      this.recorder.requestStop({ drain: true });
      await this.streamsRef.close();
      await this.producer.stop({ keepBuffered: true });
      try {
        return await this.done;
      } finally {
        await this.hub?.close();
      }
    })();
    return this.stopping;
  }

  observe(observer: RecordingObserver): () => void {
    return this.recorder.observe(observer);
  }

  /** The recording as an onlooker sees it: counts, backlog, segments with their sizes, streams. */
  async status(): Promise<RecordingStatus> {
    const r = this.recorder;
    const segments = r.segments();
    for (const s of segments)
      s.bytes = await stat(s.path).then(
        (st) => st.size,
        () => 0,
      );
    const streams = this.streamsRef.current;
    const reference = r.fileReferenceTime;
    return {
      state: r.state,
      out: this.outPath,
      source: this.sourceLabel,
      fileTime: r.state === "starting" ? 0 : r.fileTimeNow(),
      referenceTime: reference ? reference.toISOString() : null,
      events: r.stats.events,
      rejected: r.stats.rejected,
      backlog: this.backlog(),
      segments,
      streams: [...(streams?.stats.values() ?? [])].map((s) => ({
        topic: s.topic,
        rate: s.rate,
        frames: s.frames,
        samples: s.samples,
        bytes: s.bytes,
        dropped: s.dropped,
        queuedBytes: s.queuedBytes,
        queuedSeconds: s.queuedSeconds,
        bufferBytes: streams!.bufferBytes,
        series: [...s.series],
      })),
    };
  }

  /** Events received but not yet written (how far the recorder is behind its source). */
  backlog(): { events: number; bytes: number } {
    return this.producer.backlog();
  }

  /** Bytes on disk of the current output files (for a status line). */
  async outputBytes(): Promise<number> {
    const paths = this.recorder.stats.outputs.length > 0 ? this.recorder.stats.outputs : [this.recorder.currentPath];
    let total = 0;
    for (const p of paths)
      total += await stat(p).then(
        (s) => s.size,
        () => 0,
      );
    return total;
  }
}

interface StreamsRef {
  current: StreamRecording | null;
  /** Stop reading streams and write what is buffered (idempotent). */
  close: () => Promise<void>;
  /** Resolves once the streams are subscribed (never, without streams). */
  started: Promise<void>;
}

/** A recording another live `record` is writing is never replaced or rebuilt under it. */
export async function refuseLiveRecording(journalPath: string): Promise<void> {
  if (!(await pathExists(journalPath))) return;
  let reader: JournalReader;
  try {
    reader = await JournalReader.open(journalPath);
  } catch {
    return; // not a readable journal: nothing says it is live
  }
  const w = reader.header.writer;
  if (w && writerLiveness(w) === "alive" && !(await hasCleanClose(reader))) {
    throw new OutputExistsError(
      `${reader.header.nwbPath} is being recorded right now by process ${w.pid} (its journal ${journalPath} is live); stop that recording first`,
    );
  }
}

async function hasCleanClose(reader: JournalReader): Promise<boolean> {
  try {
    for await (const _ of reader.events()) {
      // read to the end
    }
  } catch {
    return false;
  }
  return reader.closeTime !== undefined;
}

/**
 * CLOCK_MONOTONIC (what Python's time.monotonic() reads on Linux/macOS) minus performance.now(),
 * in seconds: the smallest of a few paired readings, so the two calls' gap adds at most ~1 µs.
 */
export function monotonicOffset(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 20; i++) {
    const a = performance.now();
    const h = Number(process.hrtime.bigint()) / 1e9;
    const b = performance.now();
    if (b - a < best) {
      best = b - a;
      offset = h - (a + b) / 2000;
    }
  }
  return offset;
}
