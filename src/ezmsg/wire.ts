/**
 * ezmsg 3.9 GraphServer framing: u64 little-endian integers, strings as u64 byte length + UTF-8,
 * one-byte commands, and a buffered reader over a socket whose reads never hang on a dead
 * connection (they fail on end/close/error).
 */
import type { Socket } from "node:net";
import { EzmsgConnectionError, EzmsgProtocolError } from "./errors.js";

/** Command bytes (position in ezmsg's `Command` enum, `netprotocol.py`). Only what we use. */
export const Command = {
  COMPLETE: 0x00,
  SESSION: 0x15,
  SESSION_CLEAR: 0x18,
  SESSION_SNAPSHOT: 0x1a,
  SESSION_SETTINGS_SNAPSHOT: 0x1b,
  SESSION_SETTINGS_EVENTS: 0x1c,
  SESSION_SETTINGS_SUBSCRIBE: 0x1d,
  SESSION_PROCESS_REQUEST: 0x20,
  ERROR: 0x28,
  // data plane (publisher channels)
  SUBSCRIBE: 0x02,
  UPDATE: 0x09,
  TX_SHM: 0x0c,
  TX_TCP: 0x0d,
  RX_ACK: 0x0e,
  CHANNEL: 0x12,
  SHM_ATTACH_FAILED: 0x14,
} as const;

/**
 * SHUTDOWN (0x11) stops the whole server for everyone. This client never sends it; the constant
 * exists only so tests can assert that.
 */
export const SHUTDOWN_COMMAND_NEVER_SENT = 0x11;

export function encodeU64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export function encodeStr(s: string): Buffer {
  const bytes = Buffer.from(s, "utf8");
  return Buffer.concat([encodeU64(bytes.length), bytes]);
}

/** A request: command byte, then each argument as a length-prefixed string. */
export function encodeCommand(command: number, ...args: string[]): Buffer {
  return Buffer.concat([Buffer.from([command]), ...args.map(encodeStr)]);
}

/** A request carrying a payload after its string arguments: `u64` length, then the bytes (empty = no payload). */
export function encodeCommandWithPayload(command: number, args: readonly string[], payload: Uint8Array): Buffer {
  return Buffer.concat([encodeCommand(command, ...args), encodeU64(payload.length), payload]);
}

export interface SocketReaderOptions {
  /** Named in errors, e.g. "session on ezmsg://127.0.0.1:25978". */
  source: string;
  /** Pause the socket while more than this many bytes are buffered. Default 8 MiB. */
  highWaterBytes?: number;
}

/**
 * Buffers a socket's bytes and serves exact-length reads. One read at a time. When the socket
 * ends, closes or errors, a read that cannot be completed from the buffer is rejected with an
 * {@link EzmsgConnectionError}; it never waits forever on a dead connection.
 */
export class SocketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure: Error | null = null;
  private waiter: { n: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly highWater: number;
  private paused = false;
  readonly source: string;

  constructor(
    private readonly socket: Socket,
    options: SocketReaderOptions,
  ) {
    this.source = options.source;
    this.highWater = options.highWaterBytes ?? 8 * 1024 * 1024;
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      this.wake();
      // Back-pressure only while nobody waits for more; a pending read always gets its bytes.
      if (this.waiter === null && this.buffered > this.highWater && !this.paused) {
        this.paused = true;
        socket.pause();
      }
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", (err: Error) => {
      this.failure ??= err;
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }

  /** Bytes received but not yet read. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True once the socket can deliver no more bytes (ended, closed or failed). */
  get isEnded(): boolean {
    return this.ended;
  }

  /** The socket error, if the connection failed (rather than ending cleanly). */
  get socketError(): Error | null {
    return this.failure;
  }

  private wake(): void {
    const w = this.waiter;
    if (w === null) return;
    if (this.buffered >= w.n) {
      this.waiter = null;
      w.resolve();
    } else if (this.ended) {
      this.waiter = null;
      w.reject(this.endError(w.n));
    }
  }

  private endError(n: number): EzmsgConnectionError {
    const why = this.failure ? `connection failed (${(this.failure as NodeJS.ErrnoException).code ?? this.failure.message})` : "connection closed by the peer";
    return new EzmsgConnectionError(
      this.source,
      `${why} while waiting for ${n} bytes (${this.buffered} buffered)`,
      this.failure ? { cause: this.failure } : undefined,
    );
  }

  /** Resolves when at least `n` bytes are buffered; rejects if the connection ends first. */
  private wait(n: number): Promise<void> {
    if (this.buffered >= n) return Promise.resolve();
    if (this.ended) return Promise.reject(this.endError(n));
    if (this.waiter !== null) throw new Error("SocketReader: concurrent reads are not allowed");
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  /**
   * Wait until at least one byte is available (true) or the connection ends with nothing
   * buffered (false: a clean end at a message boundary). A socket error rejects.
   */
  async waitForData(): Promise<boolean> {
    if (this.buffered > 0) return true;
    try {
      await this.wait(1);
      return true;
    } catch (err) {
      if (this.failure === null && this.buffered === 0) return false;
      throw err;
    }
  }

  /** Fail the pending read (if any) with `err`; later reads fail too. */
  abort(err: Error): void {
    this.failure ??= err;
    this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }

  async readExactly(n: number): Promise<Buffer> {
    await this.wait(n);
    let out: Buffer;
    const first = this.chunks[0]!;
    if (n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const take = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, take);
        filled += take;
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      }
    }
    this.buffered -= n;
    if (this.paused && this.buffered <= this.highWater) {
      this.paused = false;
      this.socket.resume();
    }
    return out;
  }

  async readByte(): Promise<number> {
    return (await this.readExactly(1))[0]!;
  }

  async readU64(): Promise<bigint> {
    return (await this.readExactly(8)).readBigUInt64LE(0);
  }

  /** A length-prefixed UTF-8 string of at most `maxBytes` bytes. */
  async readStr(maxBytes: number, what: string): Promise<string> {
    const len = await this.readU64();
    if (len > BigInt(maxBytes)) {
      throw new EzmsgProtocolError(this.source, `${what}: declared length ${len} exceeds ${maxBytes} bytes`);
    }
    const bytes = await this.readExactly(Number(len));
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new EzmsgProtocolError(this.source, `${what}: not valid UTF-8`);
    }
  }

  /** A u64 length then that many bytes; the length is checked against `maxBytes` before reading. */
  async readFrame(maxBytes: number, what: string): Promise<Buffer> {
    const len = await this.readU64();
    if (len > BigInt(maxBytes)) {
      throw new EzmsgProtocolError(this.source, `${what}: frame of ${len} bytes exceeds maxFrameBytes=${maxBytes}`);
    }
    return this.readExactly(Number(len));
  }
}
