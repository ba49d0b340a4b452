/**
 * A native subscriber of one ezmsg topic (the data plane; 3.9.0 and 3.10.0b5), with no Python:
 *
 * 1. GraphServer connection: `SUBSCRIBE topic` → sub id; then `UPDATE "id,id,…"` (the full set of
 *    publishers feeding the topic), each answered with COMPLETE after the channels are set up.
 * 2. Per publisher: a GraphServer connection `CHANNEL pub_id` → channel id + "host:port" (kept open
 *    and idle, as Python does), and a data connection to the publisher: `CHANNEL channel_id` →
 *    topic, shm name; we decline shared memory (`SHM_ATTACH_FAILED pid`) → COMPLETE + num_buffers.
 *    Every message then arrives as `TX_TCP msg_id size payload`. We never send ezmsg 3.10's
 *    `ELIDE_OK`: a channel that does must resolve `_AxisRef`s to axes sent once, which we do not,
 *    so a 3.10 publisher sends every axis in full to us.
 * 3. Each frame goes to `onFrame`; when that settles (the frame is safely in the caller's hands)
 *    it is acknowledged with `RX_ACK msg_id`. Until then nothing more is read from that
 *    publisher, so a caller that holds frames back stalls the publisher (after `num_buffers`
 *    unacknowledged messages ezmsg's publisher blocks): that is the lossless "block" policy.
 *
 * Publishers appearing (UPDATE), restarting (a new id, msg_id from 0) and disappearing (EOF on the
 * data connection; ezmsg sends no UPDATE then) are reported through `onPublisher`. If the
 * GraphServer goes away, data connections keep delivering; the subscriber reconnects and
 * subscribes again, opening channels for new ids only.
 */
import type { Socket } from "node:net";
import { createConnection } from "node:net";
import type { GraphAddress } from "./address.js";
import { closeSocket, describeAddress, openConnection, withTimeout, type ConnectOptions } from "./connection.js";
import { EzmsgConnectionError, EzmsgProtocolError } from "./errors.js";
import { Command, SocketReader, encodeStr, encodeU64 } from "./wire.js";

export interface TopicFrame {
  /** The topic we subscribed to. */
  topic: string;
  /** The publisher (UUID) and its own topic (may differ from `topic` when subscribing an input). */
  publisherId: string;
  publisherTopic: string;
  msgId: bigint;
  /** The MessageMarshal payload; owned by the receiver. */
  payload: Buffer;
}

export type PublisherEvent =
  | { kind: "connected"; publisherId: string; publisherTopic: string; numBuffers: number; address: string }
  | { kind: "ended"; publisherId: string; publisherTopic: string; frames: number }
  | { kind: "failed"; publisherId: string; error: Error };

export interface TopicSubscriberOptions {
  /** Called with each frame; the frame is acknowledged when the returned promise settles. */
  onFrame: (frame: TopicFrame) => void | Promise<void>;
  onPublisher?: (event: PublisherEvent) => void;
  onWarning?: (message: string) => void;
  /** Largest payload accepted (checked on the header, before reading). Default 1 GiB. */
  maxPayloadBytes?: number;
  connectTimeoutMs?: number;
  /** Delay between GraphServer reconnect attempts. Default 1000 ms. */
  reconnectDelayMs?: number;
}

const MAX_ID_BYTES = 1 << 20;

interface Channel {
  publisherId: string;
  graphSocket: Socket | null;
  dataSocket: Socket | null;
  closed: boolean;
  done: Promise<void>;
}

export class EzmsgTopicSubscriber {
  private readonly channels = new Map<string, Channel>();
  private graph: { socket: Socket; reader: SocketReader } | null = null;
  private closed = false;
  private readonly opts: Required<Omit<TopicSubscriberOptions, "onPublisher">> & Pick<TopicSubscriberOptions, "onPublisher">;
  private readonly connect: ConnectOptions;
  private graphLoop: Promise<void> = Promise.resolve();
  private firstUpdate!: Promise<void>;
  private resolveFirst!: () => void;

  private constructor(
    readonly address: GraphAddress,
    readonly topic: string,
    options: TopicSubscriberOptions,
  ) {
    this.opts = {
      onWarning: (m) => console.warn(m),
      maxPayloadBytes: 1 << 30,
      connectTimeoutMs: 5000,
      reconnectDelayMs: 1000,
      ...options,
    };
    this.connect = { connectTimeoutMs: this.opts.connectTimeoutMs, onWarning: this.opts.onWarning };
    this.firstUpdate = new Promise((r) => (this.resolveFirst = r));
  }

  /** Subscribe; resolves once the GraphServer registered us and the first publisher set is applied. */
  static async subscribe(address: GraphAddress, topic: string, options: TopicSubscriberOptions): Promise<EzmsgTopicSubscriber> {
    const s = new EzmsgTopicSubscriber(address, topic, options);
    await s.register();
    s.graphLoop = s.runGraph();
    await s.firstUpdate;
    return s;
  }

  private get source(): string {
    return `subscription to ${JSON.stringify(this.topic)} on ${describeAddress(this.address)}`;
  }

  private async register(): Promise<void> {
    const conn = await openConnection(this.address, `subscription to ${JSON.stringify(this.topic)}`, this.connect);
    conn.socket.write(Buffer.concat([Buffer.from([Command.SUBSCRIBE]), encodeStr(this.topic)]));
    await withTimeout(conn.reader.readStr(MAX_ID_BYTES, "subscriber id"), this.opts.connectTimeoutMs, () => {
      conn.socket.destroy();
      return new EzmsgConnectionError(this.source, "no subscriber id from the GraphServer");
    });
    this.graph = conn;
  }

  /** Serve UPDATEs until the GraphServer connection ends; then reconnect until closed. */
  private async runGraph(): Promise<void> {
    while (!this.closed) {
      const g = this.graph;
      if (g !== null) {
        try {
          for (;;) {
            const cmd = await g.reader.readByte();
            if (cmd === Command.COMPLETE) continue; // registration finished
            if (cmd !== Command.UPDATE) throw new EzmsgProtocolError(this.source, `unexpected byte 0x${cmd.toString(16)} on the subscriber connection`);
            const ids = await g.reader.readStr(MAX_ID_BYTES, "UPDATE publisher ids");
            await this.applyUpdate(ids.split(",").filter((x) => x !== ""));
            if (!g.socket.destroyed) g.socket.write(Buffer.from([Command.COMPLETE]));
            this.resolveFirst();
          }
        } catch (err) {
          if (this.closed) return;
          this.opts.onWarning(`${this.source}: GraphServer connection lost (${(err as Error).message}); data connections stay open, reconnecting`);
          g.socket.destroy();
          this.graph = null;
        }
      }
      await sleep(this.opts.reconnectDelayMs);
      if (this.closed) return;
      try {
        await this.register();
      } catch {
        // retry after the delay
      }
    }
  }

  private async applyUpdate(ids: string[]): Promise<void> {
    const want = new Set(ids);
    for (const [id, ch] of this.channels) {
      if (!want.has(id)) this.closeChannel(ch);
    }
    const opening: Promise<unknown>[] = [];
    for (const id of want) {
      if (this.channels.has(id)) continue;
      const ch: Channel = { publisherId: id, graphSocket: null, dataSocket: null, closed: false, done: Promise.resolve() };
      this.channels.set(id, ch);
      let ready!: () => void;
      const handshake = new Promise<void>((r) => (ready = r));
      ch.done = this.runChannel(ch, ready).finally(() => {
        if (this.channels.get(id) === ch) this.channels.delete(id);
      });
      opening.push(handshake);
    }
    // Answer the GraphServer soon: it waits for our COMPLETE holding its global lock.
    await Promise.race([Promise.all(opening), sleep(500)]);
  }

  private closeChannel(ch: Channel): void {
    ch.closed = true;
    ch.dataSocket?.destroy();
    ch.graphSocket?.destroy();
  }

  private async runChannel(ch: Channel, ready: () => void): Promise<void> {
    const id = ch.publisherId;
    let publisherTopic = "";
    let frames = 0;
    try {
      // 1. Ask the GraphServer for a channel id and the publisher's address.
      const g = await openConnection(this.address, `channel for publisher ${id}`, this.connect);
      ch.graphSocket = g.socket;
      if (ch.closed) return;
      g.socket.write(Buffer.concat([Buffer.from([Command.CHANNEL]), encodeStr(id)]));
      const ok = await g.reader.readByte();
      if (ok !== Command.COMPLETE) throw new EzmsgProtocolError(this.source, `CHANNEL ${id}: reply 0x${ok.toString(16)}`);
      const channelId = await g.reader.readStr(MAX_ID_BYTES, "channel id");
      const hostPort = await g.reader.readStr(1024, "publisher address");
      const colon = hostPort.lastIndexOf(":");
      const host = hostPort.slice(0, colon);
      const port = Number(hostPort.slice(colon + 1));
      if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535)
        throw new EzmsgProtocolError(this.source, `publisher address ${JSON.stringify(hostPort)}`);
      // 2. Connect to the publisher (no banner on this socket) and decline shared memory.
      const source = `publisher ${id} (${hostPort}) of ${JSON.stringify(this.topic)}`;
      const socket = createConnection({ host, port });
      ch.dataSocket = socket;
      socket.setNoDelay(true);
      socket.on("error", () => {});
      const reader = new SocketReader(socket, { source, highWaterBytes: 64 * 1024 * 1024 });
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once("connect", resolve);
          socket.once("error", (e) => reject(new EzmsgConnectionError(source, `cannot connect (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
        }),
        this.opts.connectTimeoutMs,
        () => {
          socket.destroy();
          return new EzmsgConnectionError(source, "connect timed out");
        },
      );
      if (ch.closed) return;
      socket.write(Buffer.concat([Buffer.from([Command.CHANNEL]), encodeStr(channelId)]));
      publisherTopic = await reader.readStr(MAX_ID_BYTES, "publisher topic");
      await reader.readStr(MAX_ID_BYTES, "shared memory name");
      socket.write(Buffer.concat([Buffer.from([Command.SHM_ATTACH_FAILED]), encodeU64(process.pid)]));
      const complete = await reader.readByte();
      if (complete !== Command.COMPLETE) throw new EzmsgProtocolError(source, `handshake reply 0x${complete.toString(16)}, expected COMPLETE`);
      const numBuffers = Number(await reader.readU64());
      this.opts.onPublisher?.({ kind: "connected", publisherId: id, publisherTopic, numBuffers, address: hostPort });
      ready();
      // 3. Frames.
      let expected: bigint | null = null;
      for (;;) {
        if (!(await reader.waitForData())) break; // clean end at a frame boundary
        const cmd = await reader.readByte();
        if (cmd !== Command.TX_TCP) {
          throw new EzmsgProtocolError(source, cmd === Command.TX_SHM ? "TX_SHM after we declined shared memory" : `unexpected command 0x${cmd.toString(16)}`);
        }
        const msgId = await reader.readU64();
        const size = await reader.readU64();
        if (size > BigInt(this.opts.maxPayloadBytes))
          throw new EzmsgProtocolError(source, `message ${msgId} of ${size} bytes exceeds ${this.opts.maxPayloadBytes}`);
        const payload = await reader.readExactly(Number(size));
        if (expected !== null && msgId !== expected) this.opts.onWarning(`${source}: msg_id ${msgId} after ${expected - 1n} (ids should be consecutive)`);
        expected = msgId + 1n;
        frames++;
        await this.opts.onFrame({ topic: this.topic, publisherId: id, publisherTopic, msgId, payload });
        if (socket.destroyed) break;
        socket.write(Buffer.concat([Buffer.from([Command.RX_ACK]), encodeU64(msgId)]));
      }
      this.opts.onPublisher?.({ kind: "ended", publisherId: id, publisherTopic, frames });
    } catch (err) {
      if (ch.closed || this.closed) {
        this.opts.onPublisher?.({ kind: "ended", publisherId: id, publisherTopic, frames });
      } else if (err instanceof EzmsgConnectionError && frames > 0) {
        // A publisher that exits mid-frame: end of its stream (the partial frame was never acked).
        this.opts.onPublisher?.({ kind: "ended", publisherId: id, publisherTopic, frames });
      } else {
        this.opts.onPublisher?.({ kind: "failed", publisherId: id, error: err as Error });
      }
    } finally {
      ready();
      ch.dataSocket?.destroy();
      ch.graphSocket?.destroy();
    }
  }

  /** Publishers with an open data connection. */
  get publisherIds(): string[] {
    return [...this.channels.keys()];
  }

  /** Wait until every publisher's stream has ended (e.g. after the pipeline stopped). */
  async drained(): Promise<void> {
    await Promise.all([...this.channels.values()].map((c) => c.done));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ch of this.channels.values()) this.closeChannel(ch);
    await Promise.all([...this.channels.values()].map((c) => c.done));
    if (this.graph) await closeSocket(this.graph.socket, 200);
    await this.graphLoop;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
