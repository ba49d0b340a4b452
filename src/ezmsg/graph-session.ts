/**
 * A GraphServer session connection (command 0x15): requests are written and answered strictly one
 * at a time, in call order. A request that times out, or a reply we cannot frame, leaves the
 * connection out of step, so the session is then closed and every later request on it fails at
 * once (the owner opens a new session).
 */
import type { GraphAddress } from "./address.js";
import { type ConnectOptions, closeSocket, describeAddress, openConnection, withTimeout, type OpenConnection } from "./connection.js";
import { EzmsgConnectionError, EzmsgProtocolError, EzmsgTimeoutError, relabelError } from "./errors.js";
import { Command, encodeCommand } from "./wire.js";

/** Longest session id we accept (a canonical UUID is 36 bytes). */
const MAX_ID_BYTES = 64;

export interface SessionOptions extends ConnectOptions {
  requestTimeoutMs: number;
  maxFrameBytes: number;
}

export class GraphSession {
  private queue: Promise<unknown> = Promise.resolve();
  private broken: Error | null = null;
  private closing = false;

  private constructor(
    private readonly conn: OpenConnection,
    readonly sessionId: string,
    private readonly source: string,
    private readonly options: SessionOptions,
  ) {
    conn.socket.once("close", () => {
      this.broken ??= new EzmsgConnectionError(this.source, "session connection closed");
    });
  }

  static async open(address: GraphAddress, options: SessionOptions): Promise<GraphSession> {
    const conn = await openConnection(address, "session", options);
    const source = `session on ${describeAddress(address)}`;
    try {
      conn.socket.write(encodeCommand(Command.SESSION));
      const handshake = (async () => {
        const id = await conn.reader.readStr(MAX_ID_BYTES, "session id");
        const ack = await conn.reader.readByte();
        if (ack !== Command.COMPLETE) {
          throw new EzmsgProtocolError(source, `session not opened: ack byte 0x${ack.toString(16)} instead of COMPLETE`);
        }
        return id;
      })();
      const id = await withTimeout(handshake, options.requestTimeoutMs, () => {
        const err = new EzmsgTimeoutError(source, `no session id within ${options.requestTimeoutMs} ms`);
        conn.reader.abort(err);
        return err;
      });
      return new GraphSession(conn, id, `session ${id} on ${describeAddress(address)}`, options);
    } catch (err) {
      conn.socket.destroy();
      throw err;
    }
  }

  get serverVersion(): string {
    return this.conn.serverVersion;
  }

  /** False once the session can no longer be used (closed, failed, timed out, out of step). */
  get usable(): boolean {
    return this.broken === null && !this.closing && !this.conn.socket.destroyed;
  }

  /** Source text for errors about one request. */
  describe(label: string): string {
    return `${label} on ${this.source}`;
  }

  private fail(err: Error): void {
    this.broken ??= err;
    this.conn.reader.abort(err);
    this.conn.socket.destroy();
  }

  /** Run `io` when all earlier requests are done, with the request timeout. */
  private enqueue<T>(label: string, io: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.broken !== null) {
        throw new EzmsgConnectionError(this.describe(label), `session unusable: ${this.broken.message}`, { cause: this.broken });
      }
      try {
        return await withTimeout(io(), this.options.requestTimeoutMs, () => {
          const err = new EzmsgTimeoutError(this.describe(label), `no reply within ${this.options.requestTimeoutMs} ms (session closed)`);
          this.fail(err);
          return err;
        });
      } catch (err) {
        // Anything short of a complete reply leaves the stream out of step.
        if (!(err instanceof EzmsgTimeoutError)) this.fail(err as Error);
        throw relabelError(err, this.describe(label));
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Send a command whose reply is `u64 length, pickle, COMPLETE`; resolves with the pickle bytes. */
  requestPickled(label: string, command: number, ...args: string[]): Promise<Buffer> {
    return this.requestPickledBytes(label, encodeCommand(command, ...args));
  }

  /** As {@link requestPickled}, for a request already encoded (e.g. one carrying a payload). */
  requestPickledBytes(label: string, request: Buffer): Promise<Buffer> {
    return this.enqueue(label, async () => {
      this.conn.socket.write(request);
      const payload = await this.conn.reader.readFrame(this.options.maxFrameBytes, "reply");
      const complete = await this.conn.reader.readByte();
      if (complete !== Command.COMPLETE) {
        throw new EzmsgProtocolError(this.describe(label), `reply ended with 0x${complete.toString(16)} instead of COMPLETE (0x00)`);
      }
      return payload;
    });
  }

  /** Send a command whose reply is one byte. */
  requestByte(label: string, command: number, ...args: string[]): Promise<number> {
    return this.enqueue(label, async () => {
      this.conn.socket.write(encodeCommand(command, ...args));
      return this.conn.reader.readByte();
    });
  }

  /**
   * SESSION_CLEAR (drops anything this session owns; a read-only client owns nothing), then close.
   * Never throws; a dead connection is just closed.
   */
  async close(clearTimeoutMs = 1000): Promise<void> {
    if (this.closing) return;
    if (this.usable) {
      try {
        await withTimeout(this.requestByte("SESSION_CLEAR", Command.SESSION_CLEAR), clearTimeoutMs, () => new Error("SESSION_CLEAR timed out"));
      } catch {
        // Closing anyway: the server drops the session on EOF too.
      }
    }
    this.closing = true;
    this.broken ??= new EzmsgConnectionError(this.source, "session closed by the client");
    this.conn.reader.abort(this.broken);
    await closeSocket(this.conn.socket);
  }
}
