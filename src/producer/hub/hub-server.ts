/**
 * The embedded WebSocket settings hub (docs/protocol.md). Publishers register components and
 * publish updates; readers take snapshots, read history and subscribe (replay after a seq, then
 * live, no gap and no duplicate). Binds 127.0.0.1 by default.
 *
 * A slow reader never blocks publishers: an append only moves counters and hands each subscriber
 * at most `readerHighWaterBytes` of frames beyond what its socket already holds
 * (`ws.bufferedAmount`); the rest stays in the shared history, addressed by the subscriber's
 * cursor. A subscriber whose next event has left the history (or that lags more than
 * `maxReaderLagEvents`) is disconnected with close code 4008 and a reason saying so.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { type RawData, WebSocket, WebSocketServer } from "ws";
import { type JsonObject, type JsonValue, stringifyJson } from "../../events/json.js";
import type { SettingsValue } from "../source.js";
import {
  CloseCode,
  HUB_PROTOCOL_VERSION,
  HUB_SERVER_NAME,
  HubError,
  type HubRequest,
  type RequestId,
  type RequestError,
  errorMessage,
  message,
  parseRequest,
  settingsValueToJson,
} from "./protocol.js";
import { SettingsStore, type SettingsStoreOptions, type StoredEvent } from "./settings-store.js";
import { type StreamDeclaration, declarationToJson, frameHandle, parseFrame } from "./stream-protocol.js";

export interface HubServerOptions extends SettingsStoreOptions {
  /** Interface to bind. Default "127.0.0.1" (local only). */
  host?: string;
  /** TCP port; 0 (default) picks a free one — read it from {@link HubServer.port}. */
  port?: number;
  /** Largest message a client may send (ws `maxPayload`). Default 1 MiB. Larger → close 1009. */
  maxMessageBytes?: number;
  /** Most bytes of frames handed to one reader's socket beyond what it has taken. Default 1 MiB. */
  readerHighWaterBytes?: number;
  /** A subscriber further behind than this many events is dropped. Default: only the history bound. */
  maxReaderLagEvents?: number;
  /** A connection whose outgoing buffer exceeds this when a reply is due is dropped. Default 16 MiB. */
  maxBufferedBytes?: number;
  /** An `events` reply carries at most about this many bytes of events (`more: true` then). Default 1 MiB. */
  replyChunkBytes?: number;
  /** Most simultaneous connections. Default 1024; more are closed with 1013. */
  maxConnections?: number;
  /** Most subscriptions on one connection. Default 16. */
  maxSubscriptionsPerConnection?: number;
  /** After a close frame to a dropped reader, how long before the socket is destroyed. Default 2000 ms. */
  closeGraceMs?: number;
  /**
   * Publisher backpressure: when a reader's unread events fill this fraction of the history, the
   * hub stops reading from publishers' connections (their updates wait, unacknowledged) until every
   * reader is below `resumeFraction`. A slow reader thus slows the publishers instead of losing
   * events. Default 0.5 (0 disables it: slow readers are only dropped, code 4008).
   */
  holdPublishersAt?: number;
  /** See holdPublishersAt. Default 0.25. */
  resumeFraction?: number;
  /** A reader that takes nothing for this long while publishers are held is dropped (4008) and they are released. Default 5000 ms. */
  readerStallMs?: number;
  /** Largest binary sample frame a publisher may send (docs/protocol.md, "Sample streams"). Default 64 MiB. */
  maxFrameBytes?: number;
  /**
   * Sample streams: when a stream reader's socket holds more than this many bytes not yet taken,
   * the connection that sent the frame is no longer read until every stream reader is below half
   * of it (the publisher's sends wait, as ezmsg's do). Default 8 MiB.
   */
  streamHighWaterBytes?: number;
  /** Diagnostics (connections dropped, refused messages). Default: none. */
  onLog?: (message: string) => void;
}

export interface HubStats {
  connections: number;
  subscriptions: number;
  components: number;
  lastSeq: number;
  retainedEvents: number;
  droppedReaders: number;
  /** How many times publishers were held back for a slow reader. */
  publishersHeld: number;
  /** Sample streams declared and not ended. */
  streams: number;
  /** Sample frames relayed to at least one stream reader. */
  framesRelayed: number;
  /** Sample frames that arrived while no reader subscribed to streams (not kept: the hub relays samples, it does not store them). */
  framesUnread: number;
  /** How many times a stream publisher was held back for a stream reader. */
  streamPublishersHeld: number;
}

interface HubStream {
  handle: number;
  decl: StreamDeclaration;
  owner: Connection;
  frames: number;
}

interface Subscription {
  id: RequestId;
  idJson: string;
  /** Highest seq sent on this subscription. */
  cursor: number;
}

function idKey(id: RequestId): string {
  return typeof id === "bigint" ? `i${id}` : `s${id}`;
}

/** Truncate a close reason to the 123 bytes a close frame allows. */
function closeReason(text: string): string {
  let s = text;
  while (Buffer.byteLength(s, "utf8") > 123) s = s.slice(0, -1);
  return s;
}

class Connection {
  readonly subs = new Map<string, Subscription>();
  dropped = false;
  /** Has published (register/update): the connections held back while a reader catches up. */
  publisher = false;
  paused = false;
  /** Not read while a stream reader catches up (see streamHighWaterBytes). */
  streamHeld = false;
  /** Whether the socket is paused now (held for settings or for streams). */
  wsPaused = false;
  /** Sample streams this connection declared, by handle. */
  readonly streams = new Map<number, HubStream>();
  /** Subscribed to sample streams. */
  streamReader = false;
  constructor(
    readonly ws: WebSocket,
    readonly label: string,
  ) {}
}

export class HubServer {
  readonly store: SettingsStore;
  /** Random id of this hub instance (sent in `hello`); a restarted hub has a new one. */
  readonly instanceId = randomUUID();
  private readonly conns = new Set<Connection>();
  private readonly local = {}; // owner token for in-process publishing
  private droppedReaders = 0;
  /** Publishers are held (see holdPublishersAt) since this time, with the slowest reader at this cursor. */
  private holding: { since: number; cursor: number; progressAt: number; timer: NodeJS.Timeout } | null = null;
  private heldTimes = 0;
  private readonly streamsByHandle = new Map<number, HubStream>();
  private readonly streamsByName = new Map<string, HubStream>();
  private nextHandle = 1;
  private readonly streamReaders = new Set<Connection>();
  private readonly streamHeld = new Set<Connection>();
  private framesRelayed = 0;
  private framesUnread = 0;
  private streamHeldTimes = 0;
  private closing: Promise<void> | null = null;
  private readonly o: Required<Omit<HubServerOptions, keyof SettingsStoreOptions | "onLog">> & { onLog: (m: string) => void };

  /** ws `maxPayload`: the larger of the text and the binary limit (text is checked against its own). */
  static payloadLimit(options: HubServerOptions): number {
    return Math.max(options.maxMessageBytes ?? 1024 * 1024, options.maxFrameBytes ?? 64 * 1024 * 1024);
  }

  private constructor(
    private readonly wss: WebSocketServer,
    options: HubServerOptions,
  ) {
    this.o = {
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
      readerHighWaterBytes: options.readerHighWaterBytes ?? 1024 * 1024,
      maxReaderLagEvents: options.maxReaderLagEvents ?? Number.POSITIVE_INFINITY,
      maxBufferedBytes: options.maxBufferedBytes ?? 16 * 1024 * 1024,
      replyChunkBytes: options.replyChunkBytes ?? 1024 * 1024,
      maxConnections: options.maxConnections ?? 1024,
      maxSubscriptionsPerConnection: options.maxSubscriptionsPerConnection ?? 16,
      closeGraceMs: options.closeGraceMs ?? 2000,
      holdPublishersAt: options.holdPublishersAt ?? 0.5,
      resumeFraction: options.resumeFraction ?? 0.25,
      readerStallMs: options.readerStallMs ?? 5000,
      maxFrameBytes: options.maxFrameBytes ?? 64 * 1024 * 1024,
      streamHighWaterBytes: options.streamHighWaterBytes ?? 8 * 1024 * 1024,
      onLog: options.onLog ?? (() => {}),
    };
    this.store = new SettingsStore(options);
    this.store.onAppend((e) => this.fanOut(e));
    wss.on("connection", (ws, req) => this.accept(ws, `${req.socket.remoteAddress}:${req.socket.remotePort}`));
  }

  /** Start listening; resolves once bound. */
  static async start(options: HubServerOptions = {}): Promise<HubServer> {
    const wss = new WebSocketServer({
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0,
      maxPayload: HubServer.payloadLimit(options),
      perMessageDeflate: false,
      clientTracking: false,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      wss.once("error", onError);
      wss.once("listening", () => {
        wss.off("error", onError);
        resolve();
      });
    });
    return new HubServer(wss, options);
  }

  /** The bound port. */
  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  get host(): string {
    return (this.wss.address() as AddressInfo).address;
  }

  /** `ws://host:port` for clients. */
  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `ws://${h}:${this.port}`;
  }

  get maxMessageBytes(): number {
    return this.o.maxMessageBytes;
  }

  stats(): HubStats {
    let subscriptions = 0;
    for (const c of this.conns) subscriptions += c.subs.size;
    return {
      connections: this.conns.size,
      subscriptions,
      components: this.store.componentCount,
      lastSeq: this.store.lastSeq,
      retainedEvents: this.store.retainedEvents,
      droppedReaders: this.droppedReaders,
      publishersHeld: this.heldTimes,
      streams: this.streamsByHandle.size,
      framesRelayed: this.framesRelayed,
      framesUnread: this.framesUnread,
      streamPublishersHeld: this.streamHeldTimes,
    };
  }

  /** Register a component from inside this process (as a publisher would). Returns its seq. */
  register(address: string, settings: JsonObject, options: { session?: string | null; repr?: string | JsonObject } = {}): number {
    return this.store.register(this.local, address, { repr_value: options.repr ?? settings, structured_value: settings }, options.session ?? null).event.seq;
  }

  /** Publish new settings for a registered component from inside this process. Returns its seq. */
  update(address: string, settings: JsonObject, options: { repr?: string | JsonObject } = {}): number {
    return this.store.update(address, { repr_value: options.repr ?? settings, structured_value: settings }).event.seq;
  }

  /** Close every connection (1001 "hub shutting down") and stop listening. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.release();
      for (const c of this.conns) {
        c.dropped = true;
        c.ws.close(CloseCode.goingAway, "hub shutting down");
      }
      const deadline = setTimeout(
        () => {
          for (const c of this.conns) c.ws.terminate();
        },
        Math.min(this.o.closeGraceMs, 1000),
      );
      await new Promise<void>((resolve) => this.wss.close(() => resolve()));
      while (this.conns.size > 0) await new Promise((r) => setTimeout(r, 10));
      clearTimeout(deadline);
    })();
    return this.closing;
  }

  // -------------------------------------------------------------------------------------------

  private accept(ws: WebSocket, label: string): void {
    if (this.closing || this.conns.size >= this.o.maxConnections) {
      ws.close(CloseCode.tryAgainLater, this.closing ? "hub shutting down" : `hub connection limit (${this.o.maxConnections}) reached`);
      return;
    }
    const conn = new Connection(ws, label);
    this.conns.add(conn);
    ws.on("message", (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on("error", (err) => this.o.onLog(`hub: connection ${label}: ${err.message}`));
    ws.on("close", (code, reason) => {
      this.conns.delete(conn);
      conn.subs.clear();
      this.streamReaders.delete(conn);
      this.streamHeld.delete(conn);
      for (const st of [...conn.streams.values()]) this.endStream(st, "its publisher disconnected");
      this.releaseStreams();
      this.balance();
      const removed = this.store.dropOwner(conn);
      if (removed.length > 0) this.o.onLog(`hub: connection ${label} closed (${code} ${reason.toString()}); its components left: ${removed.join(", ")}`);
    });
    ws.send(
      stringifyJson(
        message({
          type: "hello",
          server: HUB_SERVER_NAME,
          protocol: HUB_PROTOCOL_VERSION,
          instance: this.instanceId,
          max_message_bytes: BigInt(this.o.maxMessageBytes),
          max_frame_bytes: BigInt(this.o.maxFrameBytes),
          last_seq: BigInt(this.store.lastSeq),
        }),
      ),
    );
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.dropped) return;
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) {
      this.onFrame(conn, bytes);
      return;
    }
    if (bytes.byteLength > this.o.maxMessageBytes) {
      // ws's own limit is the larger binary one; a text message over its limit gets what ws gives.
      this.drop(conn, CloseCode.messageTooBig, `message too big: ${bytes.byteLength} bytes (limit ${this.o.maxMessageBytes})`);
      return;
    }
    const text = bytes.toString("utf8");
    let req: HubRequest;
    try {
      req = parseRequest(text);
    } catch (err) {
      const e = err as RequestError;
      this.reply(conn, errorMessage(e.id ?? null, e.code ?? "bad_request", e.message));
      return;
    }
    try {
      this.handle(conn, req);
    } catch (err) {
      const code = err instanceof HubError ? err.code : "bad_request";
      this.reply(conn, errorMessage(req.id, code, (err as Error).message));
    }
  }

  private handle(conn: Connection, req: HubRequest): void {
    if (req.type === "register" || req.type === "update") {
      conn.publisher = true;
      if (this.holding && !conn.paused) this.pauseConn(conn);
    }
    switch (req.type) {
      case "register": {
        const e = this.store.register(conn, req.component, req.value, req.session);
        this.reply(conn, stringifyJson(message({ type: "registered", id: req.id, seq: BigInt(e.event.seq) })));
        return;
      }
      case "update": {
        const e = this.store.update(req.component, req.value);
        this.reply(conn, stringifyJson(message({ type: "updated", id: req.id, seq: BigInt(e.event.seq) })));
        return;
      }
      case "snapshot": {
        const settings = new Map<string, JsonValue>();
        for (const [addr, v] of this.store.snapshot()) settings.set(addr, settingsValueToJson(v as SettingsValue));
        this.reply(conn, stringifyJson(message({ type: "snapshot", id: req.id, last_seq: BigInt(this.store.lastSeq), settings })));
        return;
      }
      case "events": {
        const { events, more } = this.store.eventsAfter(req.afterSeq, this.o.replyChunkBytes);
        const head = stringifyJson(message({ type: "events", id: req.id, more, last_seq: BigInt(this.store.lastSeq) }));
        this.reply(conn, `${head.slice(0, -1)}, "events": [${events.map((e) => e.json).join(", ")}]}`);
        return;
      }
      case "subscribe": {
        const key = idKey(req.id);
        if (conn.subs.has(key)) throw new HubError("bad_request", `a subscription with id ${String(req.id)} is already open on this connection`);
        if (conn.subs.size >= this.o.maxSubscriptionsPerConnection) {
          throw new HubError("limit_exceeded", `at most ${this.o.maxSubscriptionsPerConnection} subscriptions per connection`);
        }
        // Like ezmsg: replay what is retained after afterSeq (a trimmed start is a silent gap the
        // reader sees in the seqs), then every new event. Registration and replay start happen in
        // this one synchronous step, so no append can fall between them.
        const cursor = Math.max(Math.min(req.afterSeq, this.store.lastSeq), this.store.oldestRetainedSeq - 1);
        const sub: Subscription = { id: req.id, idJson: stringifyJson(req.id), cursor };
        conn.subs.set(key, sub);
        this.reply(conn, stringifyJson(message({ type: "subscribed", id: req.id, last_seq: BigInt(this.store.lastSeq) })));
        this.pump(conn);
        return;
      }
      case "unsubscribe": {
        if (!conn.subs.delete(idKey(req.subscription))) throw new HubError("bad_request", `no subscription ${String(req.subscription)} on this connection`);
        this.reply(conn, stringifyJson(message({ type: "unsubscribed", id: req.id })));
        return;
      }
      case "session_components": {
        const list = this.store.sessionComponents(req.session);
        this.reply(conn, stringifyJson(message({ type: "session_components", id: req.id, components: list })));
        return;
      }
      case "declare_stream": {
        const name = req.declaration.name;
        const held = this.streamsByName.get(name);
        if (held && held.owner !== conn) throw new HubError("conflict", `stream ${JSON.stringify(name)} is declared by another connection`);
        if (held) this.endStream(held, "declared again");
        const st: HubStream = { handle: this.nextHandle++, decl: req.declaration, owner: conn, frames: 0 };
        this.streamsByHandle.set(st.handle, st);
        this.streamsByName.set(name, st);
        conn.streams.set(st.handle, st);
        this.reply(conn, stringifyJson(message({ type: "stream_declared", id: req.id, stream: name, handle: BigInt(st.handle) })));
        const text = this.streamMessage(st);
        for (const r of this.streamReaders) this.sendStreamText(r, text);
        return;
      }
      case "end_stream": {
        const st = conn.streams.get(req.handle);
        if (!st) throw new HubError("unknown_stream", `no stream with handle ${req.handle} declared on this connection`);
        this.endStream(st, "ended by its publisher");
        this.reply(conn, stringifyJson(message({ type: "stream_ended", id: req.id, handle: BigInt(req.handle) })));
        return;
      }
      case "subscribe_streams": {
        if (conn.streamReader) throw new HubError("bad_request", "this connection already subscribed to streams");
        conn.streamReader = true;
        this.streamReaders.add(conn);
        this.reply(conn, stringifyJson(message({ type: "streams_subscribed", id: req.id, streams: BigInt(this.streamsByHandle.size) })));
        for (const st of this.streamsByHandle.values()) this.sendStreamText(conn, this.streamMessage(st));
        return;
      }
      case "apply": {
        // Ask the component's publisher to take these settings; it may honour it with an `update`
        // (which is what records the change), or not. The hub changes nothing itself.
        const owner = this.store.ownerOf(req.component);
        if (owner === undefined) throw new HubError("unknown_component", `component ${JSON.stringify(req.component)} is not registered`);
        if (!(owner instanceof Connection) || owner.dropped) {
          throw new HubError(
            "not_delivered",
            `component ${JSON.stringify(req.component)} has no publisher connection to deliver "apply" to (registered in the hub's process)`,
          );
        }
        this.reply(owner, stringifyJson(message({ type: "apply", component: req.component, settings: req.settings })));
        this.reply(conn, stringifyJson(message({ type: "apply_sent", id: req.id })));
        return;
      }
    }
  }

  /**
   * A stream message to a stream reader, in order with its frames. Not through `reply`: a stream
   * reader's socket may legitimately hold more than `maxBufferedBytes` of frames (one 1 s frame of
   * 256 channels at 30 kHz is 30 MB) — the publisher is held for it, the reader is not dropped.
   */
  private sendStreamText(conn: Connection, text: string): void {
    if (!conn.dropped && conn.ws.readyState === WebSocket.OPEN) conn.ws.send(text);
  }

  private streamMessage(st: HubStream): string {
    return stringifyJson(message({ type: "stream", handle: BigInt(st.handle), declaration: declarationToJson(st.decl) }));
  }

  private endStream(st: HubStream, why: string): void {
    if (this.streamsByHandle.get(st.handle) !== st) return;
    this.streamsByHandle.delete(st.handle);
    if (this.streamsByName.get(st.decl.name) === st) this.streamsByName.delete(st.decl.name);
    st.owner.streams.delete(st.handle);
    const text = stringifyJson(message({ type: "stream_end", handle: BigInt(st.handle), frames: BigInt(st.frames), reason: why }));
    for (const r of this.streamReaders) this.sendStreamText(r, text);
  }

  /** A binary sample frame: check it against its stream, relay it to every stream reader. */
  private onFrame(conn: Connection, bytes: Buffer): void {
    const handle = frameHandle(bytes);
    const st = handle === null ? undefined : conn.streams.get(handle);
    const frameError = (code: "bad_frame" | "unknown_stream", text: string): void =>
      this.reply(conn, stringifyJson(message({ type: "error", id: null, code, message: text, handle: handle === null ? null : BigInt(handle) })));
    if (bytes.byteLength > this.o.maxFrameBytes) {
      frameError("bad_frame", `sample frame of ${bytes.byteLength} bytes exceeds the hub's limit of ${this.o.maxFrameBytes} bytes; not relayed`);
      return;
    }
    if (!st) {
      frameError(
        handle === null ? "bad_frame" : "unknown_stream",
        handle === null
          ? `binary message of ${bytes.byteLength} bytes is not a sample frame (16-byte header)`
          : `no stream with handle ${handle} declared on this connection`,
      );
      return;
    }
    try {
      parseFrame(bytes, st.decl);
    } catch (err) {
      frameError("bad_frame", (err as Error).message);
      return;
    }
    st.frames++;
    if (this.streamReaders.size === 0) {
      this.framesUnread++;
      return;
    }
    this.framesRelayed++;
    let full = false;
    for (const r of this.streamReaders) {
      if (r.dropped || r.ws.readyState !== WebSocket.OPEN) continue;
      r.ws.send(bytes, { binary: true }, (err) => {
        if (!err) this.releaseStreams();
      });
      if (r.ws.bufferedAmount > this.o.streamHighWaterBytes) full = true;
    }
    if (full && !conn.streamHeld && conn.subs.size === 0 && !conn.streamReader) {
      conn.streamHeld = true;
      this.streamHeld.add(conn);
      this.streamHeldTimes++;
      this.syncPause(conn);
    }
  }

  /** Resume the stream publishers once every stream reader has taken all but half the high-water mark. */
  private releaseStreams(): void {
    if (this.streamHeld.size === 0) return;
    for (const r of this.streamReaders) if (!r.dropped && r.ws.bufferedAmount > this.o.streamHighWaterBytes / 2) return;
    for (const c of this.streamHeld) {
      c.streamHeld = false;
      this.syncPause(c);
    }
    this.streamHeld.clear();
  }

  /** Pause or resume a connection's socket: paused while held for settings readers or for stream readers. */
  private syncPause(conn: Connection): void {
    const want = (conn.paused || conn.streamHeld) && !conn.dropped;
    if (want === conn.wsPaused) return;
    conn.wsPaused = want;
    if (want) conn.ws.pause();
    else conn.ws.resume();
  }

  private reply(conn: Connection, text: string): void {
    if (conn.dropped) return;
    if (conn.ws.bufferedAmount > this.o.maxBufferedBytes) {
      this.drop(conn, CloseCode.notReading, `client does not read its replies (${conn.ws.bufferedAmount} bytes queued)`);
      return;
    }
    conn.ws.send(text);
  }

  private fanOut(_e: StoredEvent): void {
    const oldest = this.store.oldestRetainedSeq;
    const last = this.store.lastSeq;
    for (const conn of this.conns) {
      if (conn.subs.size === 0 || conn.dropped) continue;
      let behind: string | null = null;
      for (const sub of conn.subs.values()) {
        if (sub.cursor + 1 < oldest) behind = `reader too slow: seq ${sub.cursor + 1} left the history before it was sent`;
        else if (last - sub.cursor > this.o.maxReaderLagEvents)
          behind = `reader too slow: ${last - sub.cursor} events behind (limit ${this.o.maxReaderLagEvents})`;
      }
      if (behind) this.drop(conn, CloseCode.slowReader, behind);
      else this.pump(conn);
    }
    this.balance();
  }

  /** The slowest subscription: its connection, cursor and how full it keeps the history. */
  private slowestReader(): { conn: Connection; cursor: number; fraction: number } | null {
    let worst: { conn: Connection; cursor: number; fraction: number } | null = null;
    for (const conn of this.conns) {
      if (conn.dropped) continue;
      for (const sub of conn.subs.values()) {
        const fraction = this.store.lagFraction(sub.cursor);
        if (!worst || fraction > worst.fraction) worst = { conn, cursor: sub.cursor, fraction };
      }
    }
    return worst;
  }

  /** Hold or release publishers by how far the slowest reader is behind (see holdPublishersAt). */
  private balance(): void {
    if (this.o.holdPublishersAt <= 0 || this.closing) return;
    const worst = this.slowestReader();
    const fraction = worst?.fraction ?? 0;
    if (!this.holding && worst && fraction >= this.o.holdPublishersAt) {
      const now = Date.now();
      this.heldTimes++;
      this.o.onLog(`hub: reader ${worst.conn.label} is ${Math.round(fraction * 100)}% of the history behind; holding publishers until it catches up`);
      this.holding = { since: now, cursor: worst.cursor, progressAt: now, timer: setInterval(() => this.checkStall(), 250) };
      this.holding.timer.unref();
      for (const c of this.conns) if (c.publisher) this.pauseConn(c);
    } else if (this.holding && fraction <= this.o.resumeFraction) {
      this.release();
    } else if (this.holding && worst && worst.cursor !== this.holding.cursor) {
      this.holding.cursor = worst.cursor;
      this.holding.progressAt = Date.now();
    }
  }

  private checkStall(): void {
    if (!this.holding) return;
    const worst = this.slowestReader();
    if (!worst) {
      this.release();
      return;
    }
    if (worst.cursor !== this.holding.cursor) {
      this.holding.cursor = worst.cursor;
      this.holding.progressAt = Date.now();
      return;
    }
    if (Date.now() - this.holding.progressAt >= this.o.readerStallMs) {
      this.drop(worst.conn, CloseCode.slowReader, `reader stalled: took nothing for ${this.o.readerStallMs} ms while publishers waited`);
      this.release();
      this.balance();
    }
  }

  private release(): void {
    if (!this.holding) return;
    clearInterval(this.holding.timer);
    this.o.onLog(`hub: readers caught up after ${Date.now() - this.holding.since} ms; publishers released`);
    this.holding = null;
    for (const c of this.conns) {
      if (c.paused) {
        c.paused = false;
        this.syncPause(c);
      }
    }
  }

  private pauseConn(conn: Connection): void {
    // A connection that also reads (has subscriptions) is never paused: it would hold itself up.
    if (conn.subs.size > 0 || conn.dropped) return;
    conn.paused = true;
    this.syncPause(conn);
  }

  /** Hand each subscription's next events to the socket while its buffer is below the high-water mark. */
  private pump(conn: Connection): void {
    const ws = conn.ws;
    for (const sub of conn.subs.values()) {
      while (!conn.dropped && sub.cursor < this.store.lastSeq && ws.readyState === WebSocket.OPEN) {
        if (ws.bufferedAmount >= this.o.readerHighWaterBytes) return; // resumed from a send callback
        const next = this.store.eventAt(sub.cursor + 1);
        if (!next) {
          this.drop(conn, CloseCode.slowReader, `reader too slow: seq ${sub.cursor + 1} left the history before it was sent`);
          return;
        }
        sub.cursor = next.event.seq;
        ws.send(`{"type": "event", "subscription": ${sub.idJson}, "event": ${next.json}}`, (err) => {
          if (!err && !conn.dropped) {
            this.pump(conn);
            if (this.holding) this.balance();
          }
        });
      }
    }
  }

  private drop(conn: Connection, code: number, reason: string): void {
    if (conn.dropped) return;
    conn.dropped = true;
    conn.subs.clear();
    if (code === CloseCode.slowReader) this.droppedReaders++;
    this.o.onLog(`hub: dropping ${conn.label}: ${reason}`);
    conn.ws.close(code, closeReason(reason));
    setTimeout(() => conn.ws.terminate(), this.o.closeGraceMs).unref();
  }
}

export { HubError };
