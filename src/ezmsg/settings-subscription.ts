/**
 * A live settings stream (SESSION_SETTINGS_SUBSCRIBE, 0x1D) on its own connection: replay of the
 * retained events with seq > after_seq, then live events, each pushed as `u64 length, pickle`.
 *
 * How it ends (see docs/ezmsg-client.md):
 * - the server closes the connection at a frame boundary (server stopped, or it dropped us):
 *   the iterator **returns normally**; `endReason === "eof"`;
 * - `close()` by the caller: the iterator returns normally; `endReason === "closed"`;
 * - EOF in the middle of a frame, a socket error, an oversize frame, an undecodable pickle or an
 *   event of the wrong shape: the connection is closed and the iterator **throws** an
 *   {@link EzmsgConnectionError} / {@link EzmsgProtocolError}; `endReason === "error"`.
 * Nothing here can throw outside the iterator: a garbage frame never crashes the process.
 */
import type { SettingsChangedEvent } from "./settings-types.js";
import type { GraphAddress } from "./address.js";
import { type ConnectOptions, closeSocket, describeAddress, openConnection, withTimeout, type OpenConnection } from "./connection.js";
import { EzmsgConnectionError, EzmsgProtocolError, EzmsgTimeoutError, relabelError } from "./errors.js";
import { settingsEventFromPickle } from "./graph-messages.js";
import { PickleDecodeError, decodePickle, type PickleDecodeOptions } from "./pickle-decoder.js";
import { Command, encodeCommand } from "./wire.js";

const MAX_ID_BYTES = 64;

export interface SubscriptionOptions extends ConnectOptions {
  /** Timeout for the subscribe handshake (after connect). */
  requestTimeoutMs: number;
  maxFrameBytes: number;
  pickle: PickleDecodeOptions;
}

export type SubscriptionEndReason = "open" | "eof" | "closed" | "error";

export class EzmsgSettingsSubscription implements AsyncIterable<SettingsChangedEvent> {
  private iterated = false;
  private closedByCaller = false;
  private reason: SubscriptionEndReason = "open";
  private failure: Error | null = null;
  private lastSeqSeen: number | null = null;
  private readonly onClose: Set<() => void> = new Set();

  private constructor(
    private readonly conn: OpenConnection,
    readonly subscriberId: string,
    readonly afterSeq: number,
    readonly source: string,
    private readonly options: SubscriptionOptions,
  ) {}

  /** Connect, send SESSION_SETTINGS_SUBSCRIBE(after_seq) and wait for the server's acknowledgement. */
  static async open(address: GraphAddress, afterSeq: number, options: SubscriptionOptions): Promise<EzmsgSettingsSubscription> {
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
      throw new RangeError(`after_seq must be a non-negative integer, got ${afterSeq}`);
    }
    const conn = await openConnection(address, `settings subscription (after_seq=${afterSeq})`, options);
    const source = `settings subscription (after_seq=${afterSeq}) on ${describeAddress(address)}`;
    try {
      conn.socket.write(encodeCommand(Command.SESSION_SETTINGS_SUBSCRIBE, String(afterSeq)));
      const handshake = (async () => {
        const id = await conn.reader.readStr(MAX_ID_BYTES, "subscriber id");
        const ack = await conn.reader.readByte();
        if (ack !== Command.COMPLETE) {
          throw new EzmsgProtocolError(source, `subscription refused: ack byte 0x${ack.toString(16)} instead of COMPLETE`);
        }
        return id;
      })();
      const id = await withTimeout(handshake, options.requestTimeoutMs, () => {
        const err = new EzmsgTimeoutError(source, `no subscription acknowledgement within ${options.requestTimeoutMs} ms`);
        conn.reader.abort(err);
        return err;
      });
      return new EzmsgSettingsSubscription(conn, id, afterSeq, source, options);
    } catch (err) {
      conn.socket.destroy();
      throw relabelError(err, source);
    }
  }

  /** "open" until the stream ends; then why it ended. */
  get endReason(): SubscriptionEndReason {
    return this.reason;
  }

  /** The error the iterator threw, if it ended with one. */
  get error(): Error | null {
    return this.failure;
  }

  /** Seq of the last event yielded (null before the first). A jump of more than 1 means the server dropped events. */
  get lastSeq(): number | null {
    return this.lastSeqSeen;
  }

  /** Called once when the subscription's connection is gone (any reason). */
  onClosed(listener: () => void): void {
    this.onClose.add(listener);
  }

  [Symbol.asyncIterator](): AsyncIterator<SettingsChangedEvent> {
    if (this.iterated) throw new Error(`${this.source}: can be iterated only once`);
    this.iterated = true;
    return this.events();
  }

  private async *events(): AsyncGenerator<SettingsChangedEvent> {
    const { reader } = this.conn;
    try {
      for (;;) {
        if (this.closedByCaller) break;
        if (!(await reader.waitForData())) {
          if (this.closedByCaller) break;
          this.reason = "eof";
          return;
        }
        const frame = await reader.readFrame(this.options.maxFrameBytes, "settings event frame");
        let event: SettingsChangedEvent;
        try {
          event = settingsEventFromPickle(decodePickle(frame, { ...this.options.pickle, source: this.source }), this.source);
        } catch (err) {
          if (err instanceof PickleDecodeError) {
            throw new EzmsgProtocolError(this.source, `undecodable event frame (${err.code} at byte ${err.offset}): ${err.problem}`, { cause: err });
          }
          throw err;
        }
        this.lastSeqSeen = event.seq;
        yield event;
      }
      this.reason = "closed";
    } catch (err) {
      if (this.closedByCaller) {
        this.reason = "closed";
        return;
      }
      this.reason = "error";
      const e = relabelError(err, this.source) as Error;
      this.failure = e;
      throw e;
    } finally {
      this.conn.socket.destroy();
      this.fireClosed();
    }
  }

  private fireClosed(): void {
    const listeners = [...this.onClose];
    this.onClose.clear();
    for (const l of listeners) l();
  }

  /** Stop: the iterator (if waiting) returns normally. Idempotent. */
  async close(): Promise<void> {
    if (this.closedByCaller) return;
    this.closedByCaller = true;
    if (this.reason === "open") this.reason = "closed";
    this.conn.reader.abort(new EzmsgConnectionError(this.source, "subscription closed by the client"));
    await closeSocket(this.conn.socket, 200);
    this.fireClosed();
  }
}
