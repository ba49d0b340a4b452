/**
 * The hub's publisher client, for components: register with settings (→ INITIAL_SETTINGS),
 * publish updates (→ SETTINGS_UPDATED). Each call resolves with the seq the hub gave the event.
 * Components registered through a connection leave the hub (silently, as in ezmsg) when it closes.
 */
import type { JsonObject } from "../../events/json.js";
import { HubConnection, type HubClientOptions, type HubHello } from "./hub-connection.js";
import { HubError } from "./protocol.js";
import { STREAM_DTYPES, type StreamDtype, encodeFrame } from "./stream-protocol.js";

/** A sample stream to declare (docs/protocol.md, "Sample streams"). */
export interface StreamSpec {
  stream: string;
  dtype: StreamDtype;
  /** A channel count, or one label per channel. */
  channels: number | readonly string[];
  /** Samples per second; omit (or null) to send one timestamp per sample. */
  rate?: number | null;
  unit?: string;
  scale?: number;
  offset?: number;
  description?: string;
}

/** One declared stream of a {@link HubPublisher}: send samples, end it. */
export class HubStreamPublisher {
  private readonly rowBytes: number;
  /** The hub's complaint about a frame of this stream, thrown by the next {@link send}. */
  private error: HubError | null = null;

  /** @internal */
  constructor(
    private readonly conn: HubConnection,
    readonly handle: number,
    readonly spec: StreamSpec,
  ) {
    const channels = typeof spec.channels === "number" ? spec.channels : spec.channels.length;
    this.rowBytes = channels * STREAM_DTYPES[spec.dtype];
  }

  /** @internal */
  fail(err: HubError): void {
    this.error ??= err;
  }

  /**
   * Send samples (time first, little-endian, the declared dtype; a typed array of that type or
   * raw bytes). Regular streams: `t0` is the first sample's time (Unix seconds; omit to continue
   * right after the previous frame). Timestamp streams: `timestamps`, one per sample. Resolves
   * when the frame is on the socket: a hub that holds this connection (its readers are behind)
   * makes it wait.
   */
  async send(samples: ArrayBufferView, time: { t0?: number; timestamps?: ArrayLike<number> } = {}): Promise<void> {
    if (this.error) throw this.error;
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    if (bytes.byteLength % this.rowBytes !== 0 || bytes.byteLength === 0)
      throw new HubError("bad_frame", `stream ${this.spec.stream}: ${bytes.byteLength} bytes are not a whole number of samples of ${this.rowBytes} bytes`);
    const rows = bytes.byteLength / this.rowBytes;
    const withTimes = this.spec.rate === undefined || this.spec.rate === null;
    if (withTimes && (!time.timestamps || time.timestamps.length !== rows))
      throw new HubError("bad_frame", `stream ${this.spec.stream} has no rate: give one timestamp per sample (${rows})`);
    await this.conn.sendBinary(
      encodeFrame(this.handle, rows, bytes, withTimes ? { timestamps: time.timestamps! } : time.t0 !== undefined ? { t0: time.t0 } : {}),
    );
  }

  /** End the stream (readers see its end; the name can be declared again). */
  async end(): Promise<void> {
    await this.conn.request("end_stream", { handle: BigInt(this.handle) });
  }
}

export interface HubPublisherOptions extends HubClientOptions {
  /** Session id sent with every register; the hub's `session_components` lists them by it. */
  session?: string;
}

export interface PublishOptions {
  /** Human-readable form (repr_value). Default: the settings object itself. */
  repr?: string | JsonObject;
}

export class HubPublisher {
  private readonly streams = new Map<number, HubStreamPublisher>();

  private constructor(
    private readonly conn: HubConnection,
    readonly session: string | null,
  ) {
    conn.onFrameError((code, text, handle) => {
      const err = new HubError(code as never, `hub ${conn.url}: ${text}`);
      if (handle !== null) this.streams.get(handle)?.fail(err);
      else for (const s of this.streams.values()) s.fail(err);
    });
  }

  /** Declare a sample stream; send its samples through the returned object. */
  async declareStream(spec: StreamSpec): Promise<HubStreamPublisher> {
    const reply = await this.conn.request("declare_stream", {
      stream: spec.stream,
      dtype: spec.dtype,
      channels: typeof spec.channels === "number" ? BigInt(spec.channels) : [...spec.channels],
      rate: spec.rate ?? null,
      ...(spec.unit !== undefined ? { unit: spec.unit } : {}),
      ...(spec.scale !== undefined ? { scale: spec.scale } : {}),
      ...(spec.offset !== undefined ? { offset: spec.offset } : {}),
      ...(spec.description !== undefined ? { description: spec.description } : {}),
    });
    const handle = seqOf(reply.get("handle"));
    const s = new HubStreamPublisher(this.conn, handle, spec);
    this.streams.set(handle, s);
    return s;
  }

  static async connect(url: string, options: HubPublisherOptions = {}): Promise<HubPublisher> {
    return new HubPublisher(await HubConnection.open(url, options), options.session ?? null);
  }

  get hello(): HubHello {
    return this.conn.hello;
  }

  /** Register (or re-register) a component with its current settings. Returns the event's seq. */
  async register(component: string, settings: JsonObject, options: PublishOptions = {}): Promise<number> {
    const reply = await this.conn.request("register", {
      component,
      settings,
      ...(options.repr !== undefined ? { repr: options.repr } : {}),
      session: this.session,
    });
    return seqOf(reply.get("seq"));
  }

  /**
   * Be told when someone (`nwb-settings restore --to ws://…`) asks this publisher to take settings
   * for one of its components. Honouring it is up to the component: apply what it can, then
   * publish the result with {@link update} — that update is what the hub and recorders see.
   */
  onApply(handler: (component: string, settings: JsonObject) => void): () => void {
    return this.conn.onApply(handler);
  }

  /** Publish new settings (full replacement) for a registered component. Returns the event's seq. */
  async update(component: string, settings: JsonObject, options: PublishOptions = {}): Promise<number> {
    const reply = await this.conn.request("update", { component, settings, ...(options.repr !== undefined ? { repr: options.repr } : {}) });
    return seqOf(reply.get("seq"));
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

function seqOf(v: unknown): number {
  if (typeof v !== "bigint") throw new HubError("bad_request", "hub reply without an integer seq");
  return Number(v);
}
