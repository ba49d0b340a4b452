/**
 * `record --source ws://…|embedded`: the hub's sample streams (docs/protocol.md, "Sample streams")
 * into the same {@link StreamRecording} — bounded buffer, `--on-overflow`, stream writer, status
 * and summary — as ezmsg streams (docs/streams.md). One subscription to the hub's streams; each
 * declared stream whose name matches `--streams` (default: all) becomes a series named after it.
 *
 * Time: a regular stream's frame carries its first sample's time (or NaN: right after the
 * previous frame, the stream's first frame then placed at its arrival); a timestamp stream carries
 * one time per sample. Times count on `--clock` (default system: Unix seconds, the clock of the
 * hub's settings timestamps), mapped to file time as the settings are.
 *
 * Backpressure: while the buffer is full under `block`, the frame's promise is pending, the reader
 * stops reading, the hub holds the stream's publisher. Under `drop` the frame is counted dropped.
 */
import type { HubStreamHandler } from "../../producer/hub/hub-stream-reader.js";
import { HubStreamReader } from "../../producer/hub/hub-stream-reader.js";
import type { StreamDeclaration, StreamFrame } from "../../producer/hub/stream-protocol.js";
import type { SampleChunk } from "../../nwb/stream-writer.js";
import { seriesUnits } from "./axisarray-chunk.js";
import type { StreamRecording } from "./stream-recording.js";

interface Selected {
  decl: StreamDeclaration;
  /** Key of the clock anchor and of the regular-time bookkeeping (hub instance + handle). */
  key: string;
  /** File time of the first sample of the current run of contiguous frames, and samples since. */
  runStart: number | null;
  runSamples: number;
  frames: number;
}

/** Matches a stream name against `--streams` (`*` any characters, `?` one). */
export function streamMatcher(patterns: readonly string[]): (name: string) => boolean {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")
          .replace(/\?/g, ".")}$`,
      ),
  );
  return (name) => res.some((r) => r.test(name));
}

export class HubStreamFeed {
  private reader: HubStreamReader | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly selected = new Map<number, Selected>();
  private readonly descriptions = new Map<string, string>();
  private readonly matches: (name: string) => boolean;
  private connecting: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly recording: StreamRecording,
    patterns: readonly string[],
    private readonly log: (message: string) => void = () => {},
  ) {
    this.matches = streamMatcher(patterns);
  }

  /** Description of the series of stream `name` (the declaration's, else a default). */
  describe(name: string): string {
    return this.descriptions.get(name) ?? `sample stream ${name} published to the nwb-settings hub`;
  }

  /** Subscribe to the hub's streams (and again after the connection is lost, every second). */
  async start(): Promise<void> {
    this.connecting = this.connect().catch((err: Error) => {
      if ((err as { code?: string }).code === "unknown_type") this.log(`warning: streams: ${err.message}; recording settings only`);
      else {
        this.log(`warning: streams: cannot subscribe to the hub's sample streams (${err.message}); retrying`);
        this.scheduleRetry();
      }
    });
    await this.connecting;
  }

  private async connect(): Promise<void> {
    const reader = await HubStreamReader.connect(this.url, this.handler());
    if (this.closed) {
      await reader.close();
      return;
    }
    this.reader = reader;
    this.log(`streams: subscribed to the sample streams of hub ${this.url}`);
    void reader.ended.then((info) => {
      if (this.closed) return;
      this.reader = null;
      this.selected.clear();
      this.log(`warning: streams: the hub's stream connection closed (code ${info.code}); reconnecting`);
      this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    this.retry = setTimeout(() => {
      if (this.closed) return;
      this.connecting = this.connect().catch(() => this.scheduleRetry());
    }, 1000);
    this.retry.unref();
  }

  private handler(): HubStreamHandler {
    let instance = "";
    return {
      onDeclare: (handle, decl) => {
        instance ||= this.reader?.hello.instance ?? Math.random().toString(36);
        if (!this.matches(decl.name)) {
          this.log(`streams: hub stream ${decl.name} not selected by --streams`);
          return;
        }
        if (decl.description) this.descriptions.set(decl.name, decl.description);
        this.selected.set(handle, { decl, key: `hub:${instance}:${handle}`, runStart: null, runSamples: 0, frames: 0 });
        const rate = decl.rate === null ? "timestamps" : `${decl.rate} Hz`;
        this.log(`streams: hub stream ${decl.name} declared (${decl.channels} ch ${decl.dtype}, ${rate}${decl.unit ? `, ${decl.unit}` : ""})`);
      },
      onFrame: (handle, _decl, frame) => {
        const s = this.selected.get(handle);
        if (!s) return;
        s.frames++;
        return this.recording.accept(s.decl.name, this.chunkOf(s, frame));
      },
      onEnd: (handle, decl, reason) => {
        const s = this.selected.get(handle);
        if (!s) return;
        this.selected.delete(handle);
        this.recording.forget(s.key);
        this.log(`streams: hub stream ${decl.name} ended (${reason}) after ${s.frames} frame(s)`);
      },
      onWarning: (m) => this.log(`warning: streams: ${m}`),
    };
  }

  private chunkOf(s: Selected, frame: StreamFrame): SampleChunk {
    const d = s.decl;
    let time: SampleChunk["time"];
    if (d.rate === null) {
      const ts = frame.timestamps!;
      const map = this.recording.timeMap(s.key, ts[0]!);
      const out = new Float64Array(frame.rows);
      for (let i = 0; i < frame.rows; i++) out[i] = map(ts[i]!);
      time = { timestamps: out };
    } else {
      if (Number.isNaN(frame.t0)) {
        // Right after the previous frame: the run goes on; a first frame is placed at its arrival.
        if (s.runStart === null) {
          s.runStart = this.recording.fileTimeNow();
          s.runSamples = 0;
        }
      } else {
        s.runStart = this.recording.timeMap(s.key, frame.t0)(frame.t0);
        s.runSamples = 0;
      }
      time = { start: s.runStart + s.runSamples / d.rate, rate: d.rate };
      s.runSamples += frame.rows;
    }
    return {
      type: d.dtype,
      bytes: frame.samples,
      rows: frame.rows,
      sampleShape: [d.channels],
      time,
      ...seriesUnits(d.labels ?? undefined, d.unit ?? undefined, d.scale, d.offset),
    };
  }

  /** Stop reading (what was received is handed to the recording first). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    await this.connecting?.catch(() => {});
    await this.reader?.close();
  }
}
