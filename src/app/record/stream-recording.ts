/**
 * `record --streams`: ezmsg data streams recorded into the recorder's NWB output, next to the
 * settings, on the file's clock (docs/streams.md).
 *
 * ezmsg topics → EzmsgTopicSubscriber (one per topic; glob patterns are matched against the
 * GraphServer's topics, polled every second) → each frame decoded to an AxisArray → a SampleChunk
 * → a bounded queue (bytes) → StreamWriter (one per publisher topic and segment file).
 * A frame is acknowledged once it is in the queue. When the queue is full, `block` (default)
 * waits for room before acknowledging, so the pipeline feels backpressure (ezmsg stalls the
 * publisher after 32 unacknowledged messages); `drop` acknowledges and counts the frame as
 * dropped (in the summary, and in the `comments` of the stream's series in the file).
 */
import { parseGraphAddress, type GraphAddress } from "../../ezmsg/address.js";
import { decodeAxisArray } from "../../ezmsg/axisarray.js";
import { GraphClient } from "../../ezmsg/graph-client.js";
import { parseMarshalPayload } from "../../ezmsg/message-marshal.js";
import { EzmsgTopicSubscriber, type PublisherEvent, type TopicFrame } from "../../ezmsg/topic-subscriber.js";
import type { PickleValue } from "../../ezmsg/pickle-values.js";
import type { SampleJournalWriter } from "../../journal/sample-journal.js";
import type { SampleChunk } from "../../nwb/stream-writer.js";
import type { NwbOutput } from "../../output/output.js";
import { StreamSink } from "../../sinks/stream-sink.js";
import { axisArrayToChunk, streamDimOf, type TimeMap } from "./axisarray-chunk.js";

import type { OverflowPolicy, StreamClock, StreamStats } from "./stream-options.js";

export type { OverflowPolicy, StreamClock, StreamStats } from "./stream-options.js";

export interface StreamRecordingOptions {
  /** `HOST:PORT` of the GraphServer whose topics to subscribe; none: chunks come through {@link StreamRecording.accept} only (hub streams). */
  graphAddress?: string;
  /** Topics; `*` (any characters, `/` included) and `?` (one character) match several. */
  patterns: readonly string[];
  clock: StreamClock;
  onOverflow: OverflowPolicy;
  /** Bytes of samples held between receiving and writing. Default 256 MiB. */
  bufferBytes?: number;
  output: NwbOutput;
  /** Pipeline time (on `clock`) → file time (s since timestamps_reference_time). */
  fileTime: { system: TimeMap; monotonic: TimeMap; now: () => number };
  onLog?: (message: string) => void;
  /** Location of the electrodes of ElectricalSeries. */
  electrodeLocation?: string;
  /** Description of a stream's series. Default: "ezmsg stream TOPIC". */
  describe?: (topic: string) => string;
  /** Device of ElectricalSeries. Default: the ezmsg pipeline. */
  device?: { name: string; description: string };
  /**
   * Where each chunk goes before it is acknowledged (crash safety), tagged with the number of
   * settings events journaled so far (`eventsJournaled`), so a replay interleaves them as written.
   */
  journal?: { writer: SampleJournalWriter; eventsJournaled: () => number };
  /** With `split`: once this many sample bytes are in the current file, `split()` starts the next. */
  splitBytes?: number;
  split?: () => Promise<void>;
}

interface Queued {
  topic: string;
  chunk: SampleChunk;
  bytes: number;
  seconds: number;
}

export const DEFAULT_STREAM_BUFFER_BYTES = 256 * 1024 * 1024;

function globRegex(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`);
}

export const isGlob = (p: string): boolean => /[*?]/.test(p);

export class StreamRecording {
  private readonly address: GraphAddress | null;
  private readonly subs = new Map<string, EzmsgTopicSubscriber>();
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private waiters: (() => void)[] = [];
  private pumping = false;
  private closed = false;
  private discovery: GraphClient | null = null;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly sink: StreamSink;
  /** Sample bytes written into the current file (`--split-bytes`), and which file that is. */
  private fileBytes = 0;
  private bytesFile: unknown = undefined;
  readonly stats = new Map<string, StreamStats>();
  private readonly unknownAnchors = new Map<string, number>();
  private failure: Error | null = null;
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | null = null;

  constructor(private readonly options: StreamRecordingOptions) {
    this.address = options.graphAddress === undefined ? null : parseGraphAddress(options.graphAddress);
    this.sink = new StreamSink({
      output: options.output,
      ...(options.electrodeLocation !== undefined ? { electrodeLocation: options.electrodeLocation } : {}),
      ...(options.describe ? { describe: options.describe } : {}),
      ...(options.device ? { device: options.device } : {}),
    });
  }

  private get limit(): number {
    return this.options.bufferBytes ?? DEFAULT_STREAM_BUFFER_BYTES;
  }

  /** The buffer's size in bytes (shared by all topics). */
  get bufferBytes(): number {
    return this.limit;
  }

  private log(m: string): void {
    this.options.onLog?.(m);
  }

  async start(): Promise<void> {
    if (this.address === null) return;
    for (const p of this.options.patterns) if (!isGlob(p)) await this.subscribe(p);
    if (this.options.patterns.some(isGlob)) {
      this.discovery = await GraphClient.connect(this.address, { onWarning: (m) => this.log(`warning: ${m}`) });
      await this.discover();
      this.pollTimer = setInterval(() => void this.discover().catch((e: Error) => this.log(`warning: topic discovery failed: ${e.message}`)), 1000);
      this.pollTimer.unref();
    }
  }

  private async discover(): Promise<void> {
    if (this.closed || !this.discovery || !this.address) return;
    const snap = await this.discovery.graphSnapshot();
    const topics = topicsOf(snap);
    const globs = this.options.patterns.filter(isGlob).map(globRegex);
    for (const t of topics) if (!this.subs.has(t) && globs.some((g) => g.test(t))) await this.subscribe(t);
  }

  private async subscribe(topic: string): Promise<void> {
    if (this.subs.has(topic) || this.closed || !this.address) return;
    const sub = await EzmsgTopicSubscriber.subscribe(this.address, topic, {
      onFrame: (f) => this.onFrame(f),
      onPublisher: (e) => this.onPublisher(topic, e),
      onWarning: (m) => this.log(`warning: ${m}`),
    });
    this.subs.set(topic, sub);
    this.log(`streams: subscribed to ${topic}`);
  }

  private onPublisher(topic: string, e: PublisherEvent): void {
    if (e.kind === "connected") this.log(`streams: ${e.publisherTopic} connected (publisher ${e.publisherId.slice(0, 8)}, via ${topic})`);
    else if (e.kind === "ended") this.log(`streams: ${e.publisherTopic || topic} ended after ${e.frames} message(s)`);
    else this.log(`error: streams: publisher ${e.publisherId} of ${topic} failed: ${e.error.message}`);
    if (e.kind !== "connected") this.unknownAnchors.delete(e.publisherId);
  }

  private statsFor(topic: string): StreamStats {
    let s = this.stats.get(topic);
    if (!s) {
      s = { topic, frames: 0, samples: 0, bytes: 0, dropped: 0, droppedSamples: 0, skipped: 0, series: [], rate: null, queuedBytes: 0, queuedSeconds: 0 };
      this.stats.set(topic, s);
    }
    return s;
  }

  /** Pipeline time → file time for one publisher (`key`), whose first sample is at `firstTime`. */
  timeMap(key: string, firstTime: number): TimeMap {
    const ft = this.options.fileTime;
    if (this.options.clock === "system") return ft.system;
    if (this.options.clock === "monotonic") return ft.monotonic;
    // unknown: the publisher's first sample is placed at its arrival time
    let anchor = this.unknownAnchors.get(key);
    if (anchor === undefined) {
      anchor = ft.now() - firstTime;
      this.unknownAnchors.set(key, anchor);
    }
    const a = anchor;
    return (t) => t + a;
  }

  /** Forget a publisher's `unknown`-clock anchor (it ended; a new one is placed at its own arrival). */
  forget(key: string): void {
    this.unknownAnchors.delete(key);
  }

  /** File time now (s since the file's reference time). */
  fileTimeNow(): number {
    return this.options.fileTime.now();
  }

  private async onFrame(frame: TopicFrame): Promise<void> {
    const topic = frame.publisherTopic || frame.topic;
    let chunk: SampleChunk | { skip: string };
    try {
      const { buffers } = parseMarshalPayload(frame.payload, frame.msgId);
      // An in-band (non-contiguous) array arrives as one bytes object: allow it the payload's size.
      const limit = Math.max(frame.payload.length, 16 * 1024 * 1024);
      const msg = decodeAxisArray(buffers[0]!, buffers.slice(1), { source: `message ${frame.msgId} of ${topic}`, maxInputBytes: limit, maxStringBytes: limit });
      const t0 = firstTime(msg);
      chunk = axisArrayToChunk(msg, this.timeMap(frame.publisherId, t0));
    } catch (err) {
      chunk = { skip: (err as Error).message };
    }
    if ("skip" in chunk) {
      this.skip(topic, `message ${frame.msgId} not recorded: ${chunk.skip}`);
      return;
    }
    await this.accept(topic, chunk);
  }

  /** Count a message that cannot be recorded (the first one is logged). */
  skip(topic: string, why: string): void {
    if (this.statsFor(topic).skipped++ === 0) this.log(`warning: streams: ${topic} ${why} (further ones counted)`);
  }

  /**
   * Queue a chunk of a stream for writing. Resolves once it is queued — or, with `drop` and a full
   * buffer, counted as dropped. With `block` and a full buffer it resolves only when there is room:
   * the caller holds its source (an unacknowledged ezmsg frame, a paused hub socket) meanwhile.
   */
  async accept(topic: string, chunk: SampleChunk): Promise<void> {
    const st = this.statsFor(topic);
    const bytes = chunk.bytes.byteLength;
    const seconds =
      "rate" in chunk.time ? chunk.rows / chunk.time.rate : chunk.rows > 1 ? chunk.time.timestamps[chunk.rows - 1]! - chunk.time.timestamps[0]! : 0;
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.limit) {
      if (this.options.onOverflow === "drop") {
        st.dropped++;
        st.droppedSamples += chunk.rows;
        return;
      }
      while (this.queuedBytes > 0 && this.queuedBytes + bytes > this.limit && !this.closed) {
        await new Promise<void>((r) => this.waiters.push(r));
      }
    }
    // In the OS before the frame is acknowledged: a kill of this process loses no acked sample.
    const j = this.options.journal;
    if (j) {
      try {
        j.writer.append(topic, j.eventsJournaled(), chunk);
      } catch (err) {
        this.failure ??= err as Error;
        this.log(`error: streams: ${topic}: ${(err as Error).message}`);
        throw err;
      }
    }
    this.queue.push({ topic, chunk, bytes, seconds });
    this.queuedBytes += bytes;
    st.queuedBytes += bytes;
    st.queuedSeconds += seconds;
    this.schedule();
  }

  private schedule(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.idle = new Promise((r) => (this.resolveIdle = r));
    setImmediate(() => void this.pump());
  }

  private async pump(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const q = this.queue.shift()!;
        try {
          await this.write(q);
        } catch (err) {
          this.failure ??= err as Error;
          this.log(`error: streams: ${q.topic}: ${(err as Error).message}`);
        }
        this.queuedBytes -= q.bytes;
        const st = this.statsFor(q.topic);
        st.queuedBytes -= q.bytes;
        // a sum of float durations minus the same ones is not exactly 0: an empty queue holds 0 s
        st.queuedSeconds = st.queuedBytes === 0 ? 0 : Math.max(0, st.queuedSeconds - q.seconds);
        const w = this.waiters;
        this.waiters = [];
        for (const r of w) r();
      }
    } finally {
      this.pumping = false;
      this.resolveIdle?.();
    }
  }

  private async write(q: Queued): Promise<void> {
    const st = this.statsFor(q.topic);
    const { newSeries } = await this.sink.write(q.topic, q.chunk);
    if (newSeries) {
      st.series.push(newSeries.name);
      if (newSeries.reason !== "first") this.log(`streams: ${q.topic} continues in series ${newSeries.name} (${newSeries.reason})`);
    }
    st.frames++;
    st.samples += q.chunk.rows;
    st.bytes += q.bytes;
    if ("rate" in q.chunk.time) st.rate = q.chunk.time.rate;
    const limit = this.options.splitBytes;
    if (limit !== undefined && this.options.split) {
      // as the reference's split_bytes: sample bytes (and timestamps) written into this file
      const file = this.options.output.open;
      if (file !== this.bytesFile) {
        this.bytesFile = file;
        this.fileBytes = 0;
      }
      this.fileBytes += q.bytes + ("timestamps" in q.chunk.time ? q.chunk.rows * 8 : 0);
      if (this.fileBytes >= limit) {
        await this.options.split();
        this.bytesFile = this.options.output.open;
        this.fileBytes = 0;
      }
    }
  }

  /** Stop subscribing, write what is queued, note drops in the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const r of this.waiters) r();
    await Promise.all([...this.subs.values()].map((s) => s.close()));
    await this.discovery?.close().catch(() => {});
    while (this.pumping || this.queue.length > 0) {
      if (!this.pumping) this.schedule();
      await this.idle;
    }
    for (const topic of this.sink.topics) {
      const st = this.statsFor(topic);
      if (st.dropped === 0) continue;
      this.sink.noteDrops(
        topic,
        `The recorder dropped ${st.dropped} message(s) (${st.droppedSamples} samples) of stream ${topic} (--on-overflow drop, buffer full); each drop shows as a gap, i.e. a new series.`,
      );
    }
  }

  get error(): Error | null {
    return this.failure;
  }
}

function firstTime(msg: ReturnType<typeof decodeAxisArray>): number {
  const axis = msg.axes.get(streamDimOf(msg));
  if (axis && "offset" in axis) return axis.offset;
  if (axis && "data" in axis && axis.data.size > 0) return Number((axis.data.cOrder() as ArrayLike<number | bigint>)[0]);
  return 0;
}

/**
 * Output topics in a decoded GraphSnapshot: the `address` of every `OutputStreamMetadata` in the
 * sessions' component metadata (a unit's output, e.g. `SIG/OUTPUT_SIGNAL`), plus the topics of the
 * `graph` (topic → downstream topics), which lists only topics with edges.
 */
export function topicsOf(snapshot: PickleValue): string[] {
  const out = new Set<string>();
  const walk = (v: PickleValue | undefined, depth: number): void => {
    if (v === null || v === undefined || typeof v !== "object" || depth > 40) return;
    if (v instanceof Map) {
      for (const x of v.values()) walk(x, depth + 1);
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
    } else if ("cls" in v && "state" in v && v.kind === "object") {
      const state = v.state;
      if (v.cls.name === "OutputStreamMetadata" && state instanceof Map && typeof state.get("address") === "string") out.add(state.get("address") as string);
      walk(state, depth + 1);
    }
  };
  const state = (snapshot as { state?: PickleValue }).state;
  if (state instanceof Map) {
    walk(state.get("sessions"), 0);
    walk(state.get("processes"), 0);
    const graph = state.get("graph");
    if (graph instanceof Map) {
      for (const [k, v] of graph) {
        if (typeof k === "string") out.add(k);
        const items = Array.isArray(v) ? v : v && typeof v === "object" && "items" in v ? (v as { items: PickleValue[] }).items : [];
        for (const x of items) if (typeof x === "string") out.add(x);
      }
    }
  }
  return [...out].sort();
}
