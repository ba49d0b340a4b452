/**
 * The hub's reader client: a {@link SettingsSource} over one WebSocket connection. Requests and
 * subscriptions share the connection; when it closes, every pending call rejects and every
 * subscription ends (see {@link HubSubscription}). It is not reopened — make a new reader (the
 * producer does, through its source factory).
 */
import type { JsonObject, JsonValue } from "../../events/json.js";
import type { SettingsSource, SettingsSubscription, SettingsValue, SourceSettingsEvent } from "../source.js";
import { type CloseInfo, HubConnection, type HubClientOptions, type HubHello } from "./hub-connection.js";
import { HubError, eventFromJson, settingsValueFromJson } from "./protocol.js";

export interface HubReaderOptions extends HubClientOptions {
  /**
   * Events a subscription holds for a consumer that does not keep up; above it the socket is
   * paused (so the hub sees a slow reader) until half of them are taken. Default 4096.
   */
  maxQueuedEvents?: number;
  /**
   * Bytes (of the hub's messages) a subscription holds for a consumer that does not keep up;
   * above it the socket is paused too. Default 16 MiB. With the hub's publisher backpressure, a
   * reader that stops reading slows the publishers instead of buffering without bound.
   */
  maxQueuedBytes?: number;
}

export type SubscriptionEnd = "open" | "closed" | "eof" | "error";

/**
 * Live events of one `subscribe`. Iterable once. Ends normally when closed by us (`"closed"`) or
 * when the hub closes the connection normally, e.g. on shutdown (`"eof"`); throws a
 * {@link HubError} when the connection fails or the hub drops us (`"error"`, e.g. code
 * `slow_reader`), or when a pushed event is malformed.
 */
export class HubSubscription implements SettingsSubscription {
  endReason: SubscriptionEnd = "open";
  error: HubError | null = null;
  lastSeq: number;
  private readonly queue: SourceSettingsEvent[] = [];
  private readonly sizes: number[] = [];
  private queuedBytes = 0;
  private wake: (() => void) | null = null;
  private iterated = false;
  private offPush: () => void = () => {};
  private offClose: () => void = () => {};

  /** @internal */
  constructor(
    private readonly conn: HubConnection,
    readonly afterSeq: number,
    private readonly maxQueued: number,
    private readonly maxQueuedBytes: number = 16 * 1024 * 1024,
  ) {
    this.lastSeq = afterSeq;
  }

  /** @internal */
  attach(id: bigint): void {
    this.subId = id;
    this.offPush = this.conn.onPush(id, (e, bytes) => this.onEvent(e, bytes));
    this.offClose = this.conn.onClosed((info) => this.onConnClosed(info));
  }

  private subId = 0n;

  /** Events received and not yet taken, and their size on the wire. */
  backlog(): { events: number; bytes: number } {
    return { events: this.queue.length, bytes: this.queuedBytes };
  }

  private onEvent(raw: JsonValue | undefined, bytes = 0): void {
    if (this.endReason !== "open") return;
    try {
      this.queue.push(eventFromJson(raw, `subscription ${this.subId} event`));
      this.sizes.push(bytes);
      this.queuedBytes += bytes;
    } catch (err) {
      this.end("error", err as HubError);
      return;
    }
    if (this.queue.length >= this.maxQueued || this.queuedBytes >= this.maxQueuedBytes) this.conn.pause();
    this.notify();
  }

  private onConnClosed(info: CloseInfo): void {
    if (info.error) this.end("error", info.error);
    else this.end("eof", null);
  }

  private end(reason: SubscriptionEnd, error: HubError | null): void {
    if (this.endReason !== "open") return;
    this.endReason = reason;
    this.error = error;
    this.offPush();
    this.offClose();
    this.conn.resume();
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** @internal End locally without telling the hub (its connection is going away). */
  abandon(): void {
    this.end("closed", null);
    this.queue.length = 0;
    this.sizes.length = 0;
    this.queuedBytes = 0;
  }

  /** Stop the subscription (tells the hub, best effort). Events still queued are discarded. */
  async close(): Promise<void> {
    if (this.endReason !== "open") return;
    this.end("closed", null);
    this.queue.length = 0;
    this.sizes.length = 0;
    this.queuedBytes = 0;
    if (!this.conn.closed) await this.conn.request("unsubscribe", { subscription: this.subId }).catch(() => {});
  }

  [Symbol.asyncIterator](): AsyncIterator<SourceSettingsEvent> {
    if (this.iterated) throw new Error("a hub subscription can be iterated once");
    this.iterated = true;
    return {
      next: async (): Promise<IteratorResult<SourceSettingsEvent>> => {
        for (;;) {
          const e = this.queue.shift();
          if (e) {
            this.queuedBytes -= this.sizes.shift() ?? 0;
            if (this.queue.length <= this.maxQueued / 2 && this.queuedBytes <= this.maxQueuedBytes / 2) this.conn.resume();
            this.lastSeq = e.seq;
            return { value: e, done: false };
          }
          if (this.endReason === "error") throw this.error!;
          if (this.endReason !== "open") return { value: undefined, done: true };
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      },
      return: async (): Promise<IteratorResult<SourceSettingsEvent>> => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

export class HubReader implements SettingsSource {
  readonly description: string;
  private readonly subs = new Set<HubSubscription>();

  private constructor(
    private readonly conn: HubConnection,
    private readonly maxQueued: number,
    private readonly maxQueuedBytes: number,
  ) {
    this.description = `hub ${conn.url}`;
  }

  /** Connect to a hub (`ws://host:port`). Fails with {@link HubError} if it cannot. */
  static async connect(url: string, options: HubReaderOptions = {}): Promise<HubReader> {
    const conn = await HubConnection.open(url, options);
    return new HubReader(conn, Math.max(2, options.maxQueuedEvents ?? 4096), Math.max(1, options.maxQueuedBytes ?? 16 * 1024 * 1024));
  }

  /** What the hub said when we connected (instance id, limits, its seq then). */
  get hello(): HubHello {
    return this.conn.hello;
  }

  async settingsSnapshot(): Promise<Map<string, SettingsValue>> {
    const reply = await this.conn.request("snapshot");
    const settings = reply.get("settings");
    if (!(settings instanceof Map)) throw new HubError("bad_request", `hub ${this.conn.url}: snapshot reply without settings`);
    const out = new Map<string, SettingsValue>();
    for (const [addr, v] of settings) out.set(addr, settingsValueFromJson(v, `snapshot[${JSON.stringify(addr)}]`));
    return out;
  }

  /**
   * Ask the publisher of `component` to take `settings` (a whole value): the hub forwards an
   * `apply` message to it and answers once forwarded. Whether it is honoured shows as an update
   * in the settings (docs/protocol.md "apply").
   */
  async apply(component: string, settings: JsonObject): Promise<void> {
    await this.conn.request("apply", { component, settings });
  }

  /** Retained events with seq > afterSeq, ascending (fetched in chunks the hub sizes). */
  async settingsEvents(afterSeq: number): Promise<SourceSettingsEvent[]> {
    const out: SourceSettingsEvent[] = [];
    let after = afterSeq;
    for (;;) {
      const reply = await this.conn.request("events", { after_seq: BigInt(after) });
      const events = reply.get("events");
      if (!Array.isArray(events)) throw new HubError("bad_request", `hub ${this.conn.url}: events reply without events`);
      for (const raw of events) out.push(eventFromJson(raw, `events reply`));
      const last = out.at(-1);
      if (reply.get("more") !== true || events.length === 0 || !last) return out;
      after = last.seq;
    }
  }

  async subscribe(afterSeq: number): Promise<HubSubscription> {
    const sub = new HubSubscription(this.conn, afterSeq, this.maxQueued, this.maxQueuedBytes);
    // Attach before the request goes out: events may follow the reply immediately.
    try {
      await this.conn.request("subscribe", { after_seq: BigInt(afterSeq) }, (id) => sub.attach(id));
    } catch (err) {
      sub.abandon();
      throw err;
    }
    this.subs.add(sub);
    return sub;
  }

  async sessionComponents(sessionId: string): Promise<string[] | null> {
    const reply = await this.conn.request("session_components", { session: sessionId });
    const list = reply.get("components");
    if (list === null) return null;
    if (!Array.isArray(list) || !list.every((x): x is string => typeof x === "string")) {
      throw new HubError("bad_request", `hub ${this.conn.url}: session_components reply is not a list of strings`);
    }
    return list;
  }

  async close(): Promise<void> {
    for (const s of this.subs) s.abandon();
    this.subs.clear();
    await this.conn.close();
  }
}
