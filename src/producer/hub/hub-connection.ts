/**
 * One client connection to the hub: waits for `hello`, sends requests with fresh integer ids,
 * matches replies by id, routes pushed `event` messages to their subscription, and turns the
 * hub's close codes into {@link HubError}s every pending request and subscription sees.
 * A connection is not reopened: once closed, every call fails with code "closed".
 */
import { WebSocket } from "ws";
import { type JsonObject, type JsonValue, isJsonObject, parseJson, stringifyJson } from "../../events/json.js";
import { CloseCode, HUB_SERVER_NAME, HubError, type HubErrorCode, MAX_REPLY_DEPTH, byteLength, message } from "./protocol.js";

export interface HubClientOptions {
  /** WebSocket open + `hello`. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Each request until its reply. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Largest message accepted from the hub (ws `maxPayload`). Default 64 MiB. */
  maxPayload?: number;
  /**
   * Refuse (locally, connection kept) a request larger than the hub's announced
   * `max_message_bytes` instead of sending it and being disconnected with 1009. Default true.
   */
  checkMessageSize?: boolean;
}

export interface HubHello {
  instance: string;
  protocol: number;
  maxMessageBytes: number;
  /** Largest binary sample frame the hub takes (hubs before sample streams: same as maxMessageBytes). */
  maxFrameBytes: number;
  lastSeq: number;
}

/** What arrives for a stream subscription: stream messages (text) and sample frames (binary). */
export interface StreamPushHandler {
  onMessage(doc: JsonObject): void;
  onFrame(frame: Buffer): void;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** The error every pending call got; null for a normal close (1000/1001). */
  error: HubError | null;
}

interface Pending {
  resolve: (reply: JsonObject) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export function isNormalClose(code: number): boolean {
  return code === CloseCode.normal || code === CloseCode.goingAway;
}

function closeError(url: string, code: number, reason: string, maxMessageBytes: number | undefined): HubError {
  const why = reason ? `: ${reason}` : "";
  let kind: HubErrorCode = "closed";
  let text = `hub ${url} closed the connection (code ${code}${why})`;
  if (code === CloseCode.messageTooBig) {
    kind = "message_too_large";
    text = `hub ${url} closed the connection (code 1009, message too big): a message exceeded its limit${maxMessageBytes ? ` of ${maxMessageBytes} bytes` : ""}${why}`;
  } else if (code === CloseCode.slowReader) {
    kind = "slow_reader";
    text = `hub ${url} dropped this reader as too slow (code 4008${why})`;
  } else if (code === 1006) {
    text = `connection to hub ${url} lost (code 1006, no close frame)`;
  }
  return new HubError(kind, text, code);
}

export class HubConnection {
  private nextId = 1n;
  private readonly pending = new Map<string, Pending>();
  private readonly pushHandlers = new Map<string, (event: JsonValue | undefined, bytes: number) => void>();
  private readonly closeHandlers = new Set<(info: CloseInfo) => void>();
  private readonly applyHandlers = new Set<(component: string, settings: JsonObject) => void>();
  private closeInfo: CloseInfo | null = null;
  private paused = false;
  private streamHandler: StreamPushHandler | null = null;
  private frameErrorHandler: ((code: string, message: string, handle: number | null) => void) | null = null;

  private constructor(
    readonly url: string,
    private readonly ws: WebSocket,
    readonly hello: HubHello,
    private readonly o: Required<HubClientOptions>,
  ) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) this.streamHandler?.onFrame(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
      else this.onMessage(data.toString());
    });
    ws.on("close", (code, reason) => this.onClose(code, reason.toString()));
    ws.on("error", () => {}); // the close that follows carries the outcome
  }

  static async open(url: string, options: HubClientOptions = {}): Promise<HubConnection> {
    const o: Required<HubClientOptions> = {
      connectTimeoutMs: options.connectTimeoutMs ?? 5000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
      checkMessageSize: options.checkMessageSize ?? true,
    };
    const ws = new WebSocket(url, { maxPayload: o.maxPayload, perMessageDeflate: false, handshakeTimeout: o.connectTimeoutMs });
    const hello = await new Promise<HubHello>((resolve, reject) => {
      const fail = (err: Error) => {
        clearTimeout(timer);
        ws.removeAllListeners();
        ws.on("error", () => {});
        ws.terminate();
        reject(err);
      };
      const timer = setTimeout(() => fail(new HubError("timeout", `hub ${url}: no hello within ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
      ws.once("error", (err) => fail(new HubError("closed", `cannot connect to hub ${url}: ${err.message}`)));
      ws.once("close", (code, reason) => fail(closeError(url, code, reason.toString(), undefined)));
      ws.once("message", (data) => {
        try {
          const doc = parseJson(data.toString(), { maxDepth: MAX_REPLY_DEPTH });
          if (!isJsonObject(doc) || doc.get("type") !== "hello" || doc.get("server") !== HUB_SERVER_NAME)
            throw new Error("first message is not the hub's hello");
          const num = (k: string) => {
            const v = doc.get(k);
            if (typeof v !== "bigint") throw new Error(`hello.${k} is not an integer`);
            return Number(v);
          };
          const instance = doc.get("instance");
          const maxFrame = doc.get("max_frame_bytes");
          clearTimeout(timer);
          ws.removeAllListeners();
          resolve({
            instance: typeof instance === "string" ? instance : "",
            protocol: num("protocol"),
            maxMessageBytes: num("max_message_bytes"),
            maxFrameBytes: typeof maxFrame === "bigint" ? Number(maxFrame) : num("max_message_bytes"),
            lastSeq: num("last_seq"),
          });
        } catch (err) {
          fail(new HubError("bad_request", `${url} is not an nwb-settings hub: ${(err as Error).message}`));
        }
      });
    });
    return new HubConnection(url, ws, hello, o);
  }

  get closed(): CloseInfo | null {
    return this.closeInfo;
  }

  /** Send a request and wait for its reply (an `error` reply rejects with {@link HubError}). */
  request(type: string, fields: Record<string, JsonValue> = {}, onSent?: (id: bigint) => void): Promise<JsonObject> {
    if (this.closeInfo) return Promise.reject(this.closeInfo.error ?? new HubError("closed", `hub ${this.url}: connection closed`));
    const id = this.nextId++;
    const text = stringifyJson(message({ type, id, ...fields }));
    const size = byteLength(text);
    if (this.o.checkMessageSize && size > this.hello.maxMessageBytes) {
      return Promise.reject(
        new HubError("message_too_large", `${type} request of ${size} bytes exceeds the hub's limit of ${this.hello.maxMessageBytes} bytes; not sent`),
      );
    }
    return new Promise<JsonObject>((resolve, reject) => {
      const key = id.toString();
      const timer = setTimeout(() => {
        this.pending.delete(key);
        reject(new HubError("timeout", `hub ${this.url}: no reply to ${type} within ${this.o.requestTimeoutMs} ms`));
      }, this.o.requestTimeoutMs);
      this.pending.set(key, { resolve, reject, timer });
      onSent?.(id);
      this.ws.send(text);
    });
  }

  /** Route pushed events of subscription `id` to `handler`. */
  onPush(id: bigint, handler: (event: JsonValue | undefined, bytes: number) => void): () => void {
    this.pushHandlers.set(id.toString(), handler);
    return () => this.pushHandlers.delete(id.toString());
  }

  /** Route stream messages and binary frames (one stream subscription per connection). */
  onStreams(handler: StreamPushHandler): void {
    this.streamHandler = handler;
  }

  /** Errors the hub reports about a binary frame we sent (they answer no request). */
  onFrameError(handler: (code: string, message: string, handle: number | null) => void): void {
    this.frameErrorHandler = handler;
  }

  /** Send a binary frame; resolves once it is handed to the socket (a held connection waits here). */
  sendBinary(frame: Uint8Array): Promise<void> {
    if (this.closeInfo) return Promise.reject(this.closeInfo.error ?? new HubError("closed", `hub ${this.url}: connection closed`));
    if (this.o.checkMessageSize && frame.byteLength > this.hello.maxFrameBytes) {
      return Promise.reject(
        new HubError("message_too_large", `sample frame of ${frame.byteLength} bytes exceeds the hub's limit of ${this.hello.maxFrameBytes} bytes; not sent`),
      );
    }
    return new Promise((resolve, reject) => {
      this.ws.send(frame, { binary: true }, (err) => {
        if (err) reject(this.closeInfo?.error ?? new HubError("closed", `hub ${this.url}: ${err.message}`));
        else resolve();
      });
    });
  }

  /** Bytes handed to the socket and not yet sent. */
  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  /** Route pushed `apply` messages (a restore asking this publisher to take settings) to `handler`. */
  onApply(handler: (component: string, settings: JsonObject) => void): () => void {
    this.applyHandlers.add(handler);
    return () => this.applyHandlers.delete(handler);
  }

  onClosed(handler: (info: CloseInfo) => void): () => void {
    if (this.closeInfo) {
      handler(this.closeInfo);
      return () => {};
    }
    this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  /** Stop reading from the socket (back-pressure); the hub sees our buffer fill. */
  pause(): void {
    if (!this.paused && !this.closeInfo) {
      this.paused = true;
      this.ws.pause();
    }
  }

  resume(): void {
    if (this.paused) {
      this.paused = false;
      this.ws.resume();
    }
  }

  /** Close normally (1000) and wait for the close to finish (at most 1 s, then terminate). */
  async close(): Promise<void> {
    if (this.closeInfo) return;
    const done = new Promise<void>((resolve) => this.onClosed(() => resolve()));
    this.resume();
    this.ws.close(CloseCode.normal, "client closing");
    const t = setTimeout(() => this.ws.terminate(), 1000);
    await done;
    clearTimeout(t);
  }

  private onMessage(text: string): void {
    let doc: JsonValue;
    try {
      doc = parseJson(text, { maxDepth: MAX_REPLY_DEPTH });
    } catch (err) {
      this.fail(`unparseable message from hub: ${(err as Error).message}`);
      return;
    }
    if (!isJsonObject(doc)) {
      this.fail("message from hub is not an object");
      return;
    }
    const type = doc.get("type");
    if (type === "stream" || type === "stream_end") {
      this.streamHandler?.onMessage(doc);
      return;
    }
    if (type === "error" && doc.has("handle") && doc.get("id") === null) {
      const h = doc.get("handle");
      const code = doc.get("code");
      const msg = doc.get("message");
      this.frameErrorHandler?.(
        typeof code === "string" ? code : "bad_frame",
        typeof msg === "string" ? msg : "error",
        typeof h === "bigint" ? Number(h) : null,
      );
      return;
    }
    if (type === "apply" && !doc.has("id")) {
      const component = doc.get("component");
      const settings = doc.get("settings");
      if (typeof component === "string" && isJsonObject(settings)) for (const h of this.applyHandlers) h(component, settings);
      return;
    }
    if (type === "event") {
      const sub = doc.get("subscription");
      const handler = this.pushHandlers.get(String(sub));
      handler?.(doc.get("event"), text.length);
      return;
    }
    const id = doc.get("id");
    // An error the hub could not tie to an id (our message did not parse, e.g. nested deeper than
    // the hub's limit) answers the oldest pending request: replies come in request order. Dropping
    // it left that request waiting for its timeout, with no word of the real problem.
    const key = typeof id === "bigint" ? id.toString() : id === null && type === "error" ? this.pending.keys().next().value : undefined;
    const p = key === undefined ? undefined : this.pending.get(key);
    if (!p || key === undefined) return; // reply to a request that timed out
    this.pending.delete(key);
    clearTimeout(p.timer);
    if (type === "error") {
      const code = doc.get("code");
      const msg = doc.get("message");
      p.reject(new HubError((typeof code === "string" ? code : "bad_request") as HubErrorCode, `hub ${this.url}: ${typeof msg === "string" ? msg : "error"}`));
    } else {
      p.resolve(doc);
    }
  }

  private fail(problem: string): void {
    this.ws.close(1002, problem.slice(0, 120));
  }

  private onClose(code: number, reason: string): void {
    const error = isNormalClose(code) ? null : closeError(this.url, code, reason, this.hello.maxMessageBytes);
    this.closeInfo = { code, reason, error };
    const pendingError = error ?? new HubError("closed", `hub ${this.url} closed the connection (code ${code}${reason ? `: ${reason}` : ""})`, code);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(pendingError);
    }
    this.pending.clear();
    for (const h of this.closeHandlers) h(this.closeInfo);
    this.closeHandlers.clear();
  }
}
