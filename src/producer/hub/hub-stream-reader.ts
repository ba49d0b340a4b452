/**
 * The hub's sample-stream reader: one connection that subscribes to the hub's sample streams
 * (docs/protocol.md, "Sample streams") and hands each declaration, frame and end to its handler,
 * in the order the hub sent them. A handler that returns a promise (its buffer is full) holds
 * the ones after it: the connection stops reading, the hub sees this reader fall behind and holds
 * the stream's publisher in turn — backpressure from the disk to the publisher, nothing lost.
 */
import type { JsonObject } from "../../events/json.js";
import { type CloseInfo, HubConnection, type HubClientOptions, type HubHello } from "./hub-connection.js";
import { HubError } from "./protocol.js";
import { type StreamDeclaration, type StreamFrame, declarationFromJson, frameHandle, parseFrame } from "./stream-protocol.js";

export interface HubStreamHandler {
  /** A stream the hub knows (at subscribe: every live one; later: each new declaration). */
  onDeclare(handle: number, declaration: StreamDeclaration): void;
  /** A frame of a declared stream. A returned promise holds what follows until it settles. */
  onFrame(handle: number, declaration: StreamDeclaration, frame: StreamFrame): void | Promise<void>;
  /** The stream ended (its publisher ended it, declared it again or disconnected). */
  onEnd(handle: number, declaration: StreamDeclaration, reason: string): void;
  /** A message from the hub this reader cannot use (it is skipped). */
  onWarning?(message: string): void;
}

/** Frames waiting behind a held one before the socket is paused. */
const PAUSE_AFTER = 2;

export class HubStreamReader {
  private readonly streams = new Map<number, StreamDeclaration>();
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  readonly ended: Promise<CloseInfo>;

  private constructor(
    private readonly conn: HubConnection,
    private readonly handler: HubStreamHandler,
  ) {
    this.ended = new Promise((resolve) => conn.onClosed(resolve));
    conn.onStreams({
      onMessage: (doc) => this.enqueue(() => this.onMessage(doc)),
      onFrame: (buf) => this.enqueue(() => this.onFrame(buf)),
    });
  }

  /** Connect to a hub and subscribe to its sample streams. */
  static async connect(url: string, handler: HubStreamHandler, options: HubClientOptions = {}): Promise<HubStreamReader> {
    const conn = await HubConnection.open(url, options);
    const reader = new HubStreamReader(conn, handler);
    try {
      await conn.request("subscribe_streams");
    } catch (err) {
      await conn.close().catch(() => {});
      if (err instanceof HubError && err.code === "unknown_type") throw new HubError("unknown_type", `hub ${url} does not relay sample streams (an older hub)`);
      throw err;
    }
    return reader;
  }

  get hello(): HubHello {
    return this.conn.hello;
  }

  /** Declared streams not yet ended. */
  get live(): ReadonlyMap<number, StreamDeclaration> {
    return this.streams;
  }

  private enqueue(step: () => void | Promise<void>): void {
    this.inFlight++;
    if (this.inFlight > PAUSE_AFTER) this.conn.pause();
    this.chain = this.chain.then(step).then(
      () => this.settled(),
      (err: unknown) => {
        this.settled();
        this.handler.onWarning?.(`sample stream message not handled: ${(err as Error).message}`);
      },
    );
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight <= 1) this.conn.resume();
  }

  private onMessage(doc: JsonObject): void {
    const h = doc.get("handle");
    if (typeof h !== "bigint") {
      this.handler.onWarning?.(`stream message without a handle: ${String(doc.get("type"))}`);
      return;
    }
    const handle = Number(h);
    if (doc.get("type") === "stream") {
      let decl: StreamDeclaration;
      try {
        decl = declarationFromJson(doc.get("declaration"));
      } catch (err) {
        this.handler.onWarning?.(`stream ${handle} declared with an unusable declaration: ${(err as Error).message}`);
        return;
      }
      this.streams.set(handle, decl);
      this.handler.onDeclare(handle, decl);
      return;
    }
    const decl = this.streams.get(handle);
    if (!decl) return;
    this.streams.delete(handle);
    const reason = doc.get("reason");
    this.handler.onEnd(handle, decl, typeof reason === "string" ? reason : "ended");
  }

  private onFrame(buf: Buffer): void | Promise<void> {
    const handle = frameHandle(buf);
    const decl = handle === null ? undefined : this.streams.get(handle);
    if (handle === null || !decl) {
      this.handler.onWarning?.(`sample frame of an undeclared stream (handle ${handle}) skipped`);
      return;
    }
    return this.handler.onFrame(handle, decl, parseFrame(buf, decl));
  }

  /** Wait until everything received so far is handled. */
  async drained(): Promise<void> {
    for (;;) {
      const c = this.chain;
      await c;
      if (c === this.chain) return;
    }
  }

  async close(): Promise<void> {
    await this.conn.close();
    await this.drained();
  }
}
