/** A scriptable TCP server on 127.0.0.1 standing in for an ezmsg GraphServer in unit tests. */
import { createServer, type Server, type Socket } from "node:net";

export class FakeConnection {
  private buf = Buffer.alloc(0);
  private waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private ended = false;
  /** Every byte the client sent on this connection. */
  received = Buffer.alloc(0);
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.received = Buffer.concat([this.received, d]);
      this.wake();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.on("close", () => resolve()));
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiting;
    if (!w) return;
    if (this.buf.length >= w.n) {
      this.waiting = null;
      const out = this.buf.subarray(0, w.n);
      this.buf = this.buf.subarray(w.n);
      w.resolve(out);
    } else if (this.ended) {
      this.waiting = null;
      w.reject(new Error(`client closed while the fake server waited for ${w.n} bytes`));
    }
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.wake();
    });
  }

  async readStr(): Promise<string> {
    const len = (await this.read(8)).readBigUInt64LE(0);
    return (await this.read(Number(len))).toString("utf8");
  }

  write(...parts: (Buffer | Uint8Array | number[])[]): void {
    for (const p of parts) this.socket.write(Array.isArray(p) ? Buffer.from(p) : p);
  }

  /** Banner + session handshake as ezmsg 3.9 does it. */
  async acceptSession(id = "11111111-2222-3333-4444-555555555555", version = "3.9.0"): Promise<void> {
    this.write(str(version));
    const cmd = await this.read(1);
    if (cmd[0] !== 0x15) throw new Error(`expected SESSION, got 0x${cmd[0]!.toString(16)}`);
    this.write(str(id), [0x00]);
  }

  /** Banner + subscribe handshake; returns the after_seq string the client sent. */
  async acceptSubscription(id = "99999999-2222-3333-4444-555555555555", version = "3.9.0"): Promise<string> {
    this.write(str(version));
    const cmd = await this.read(1);
    if (cmd[0] !== 0x1d) throw new Error(`expected SESSION_SETTINGS_SUBSCRIBE, got 0x${cmd[0]!.toString(16)}`);
    const after = await this.readStr();
    this.write(str(id), [0x00]);
    return after;
  }
}

export function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export function str(s: string): Buffer {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([u64(b.length), b]);
}

/** A session reply: u64 length, payload, COMPLETE. */
export function pickledReply(payload: Uint8Array): Buffer {
  return Buffer.concat([u64(payload.length), payload, Buffer.from([0x00])]);
}

/** A pushed subscription frame: u64 length, payload. */
export function pushedFrame(payload: Uint8Array): Buffer {
  return Buffer.concat([u64(payload.length), payload]);
}

export class FakeGraphServer {
  readonly connections: FakeConnection[] = [];
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Start; `handler` runs for every accepted connection (errors are recorded, not thrown). */
  static async start(handler: (c: FakeConnection, index: number) => Promise<void> | void): Promise<FakeGraphServer> {
    const errors: unknown[] = [];
    let fake: FakeGraphServer | null = null;
    const server = createServer((socket) => {
      const c = new FakeConnection(socket);
      fake!.connections.push(c);
      Promise.resolve()
        .then(() => handler(c, fake!.connections.length - 1))
        .catch((e: unknown) => errors.push(e));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error("no port");
    fake = new FakeGraphServer(server, addr.port);
    fake.errors = errors;
    return fake;
  }

  errors: unknown[] = [];

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
