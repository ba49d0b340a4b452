import { createServer } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultGraphAddress, parseGraphAddress } from "../../../src/ezmsg/address.js";
import { EzmsgConnectionError, EzmsgProtocolError, EzmsgTimeoutError } from "../../../src/ezmsg/errors.js";
import { GraphClient, type GraphClientOptions } from "../../../src/ezmsg/graph-client.js";
import type { SourceSettingsEvent } from "../../../src/producer/source.js";
import { CAPTURED } from "./helpers.js";
import { FakeGraphServer, pickledReply, pushedFrame, str, u64, type FakeConnection } from "./fake-server.js";

const cap = (f: string): Buffer => readFileSync(join(CAPTURED, f));
const quiet: GraphClientOptions = { onWarning: () => {}, connectTimeoutMs: 2000, requestTimeoutMs: 2000, closeTimeoutMs: 100 };

/** Split a captured rx transcript: banner, id, ack, then the rest. */
function splitHandshake(rx: Buffer): { banner: Buffer; idAndAck: Buffer; rest: Buffer } {
  const bannerLen = 8 + Number(rx.readBigUInt64LE(0));
  const idLen = 8 + Number(rx.readBigUInt64LE(bannerLen));
  return {
    banner: rx.subarray(0, bannerLen),
    idAndAck: rx.subarray(bannerLen, bannerLen + idLen + 1),
    rest: rx.subarray(bannerLen + idLen + 1),
  };
}

/** Split `[u64 len][payload][0x00]` replies. */
function splitReplies(rest: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < rest.length) {
    const len = Number(rest.readBigUInt64LE(at));
    out.push(rest.subarray(at, at + 8 + len + 1));
    at += 8 + len + 1;
  }
  return out;
}

async function collect(it: AsyncIterable<SourceSettingsEvent>): Promise<{ events: SourceSettingsEvent[]; error: unknown }> {
  const events: SourceSettingsEvent[] = [];
  try {
    for await (const e of it) events.push(e);
    return { events, error: null };
  } catch (error) {
    return { events, error };
  }
}

let servers: FakeGraphServer[] = [];
let sources: GraphClient[] = [];
async function fake(handler: (c: FakeConnection, i: number) => Promise<void> | void): Promise<FakeGraphServer> {
  const s = await FakeGraphServer.start(handler);
  servers.push(s);
  return s;
}
async function connect(s: FakeGraphServer, options: GraphClientOptions = {}): Promise<GraphClient> {
  const src = await GraphClient.connect(s.address, { ...quiet, ...options });
  sources.push(src);
  return src;
}
afterEach(async () => {
  await Promise.all(sources.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.close()));
  sources = [];
  servers = [];
});

describe("GraphClient against a replay of the captured session", () => {
  it("sends exactly the captured request bytes and decodes the captured replies", async () => {
    const rx = cap("live_session_rx_transcript.bin");
    const tx = cap("live_session_tx_transcript.bin");
    const { banner, idAndAck, rest } = splitHandshake(rx);
    const replies = splitReplies(rest);
    expect(replies).toHaveLength(3);
    const server = await fake(async (c) => {
      c.write(banner);
      await c.read(1);
      c.write(idAndAck);
      // Requests in the captured order: 0x1B, 0x1C "0", 0x1A; then our SESSION_CLEAR.
      await c.read(1);
      c.write(replies[0]!);
      await c.read(1 + 9);
      c.write(replies[1]!);
      await c.read(1);
      c.write(replies[2]!);
      await c.read(1);
      c.write([0x00]);
    });
    const src = await connect(server);
    expect(src.serverVersion).toBe("3.9.0");
    expect(src.sessionId).toBe("6ba1aa7a-eb35-11f1-a886-02fc00000001");
    expect(src.description).toBe(`ezmsg://127.0.0.1:${server.port}`);
    const snap = await src.settingsSnapshot();
    expect([...snap.keys()]).toEqual(["SYS", "SYS/GAIN", "SYS/SINK", "SYS/TICK"]);
    const events = await src.settingsEvents(0);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    const comps = await src.sessionComponents("4c9db902-eb35-11f1-a886-02fc00000001");
    expect(comps?.sort()).toEqual(["SYS", "SYS/GAIN", "SYS/SINK", "SYS/TICK"]);
    await src.close();
    await server.connections[0]!.closed;
    const sent = server.connections[0]!.received;
    expect(sent).toEqual(Buffer.concat([tx, Buffer.from([0x18])]));
    expect(sent.includes(0x11)).toBe(false); // never SHUTDOWN
    expect(server.errors).toEqual([]);
  });

  it("serializes concurrent requests: one on the wire at a time, answers matched in order", async () => {
    const snapReply = pickledReply(cap("live_settings_snapshot.bin"));
    const eventsReply = pickledReply(cap("live_settings_events_after0.bin"));
    const seenWhenAnswering: number[] = [];
    const server = await fake(async (c) => {
      await c.acceptSession();
      for (let i = 0; i < 4; i++) {
        const cmd = (await c.read(1))[0];
        if (cmd === 0x1c) expect(await c.readStr()).toMatch(/^\d+$/);
        // Nothing else may arrive before we answer.
        await new Promise((r) => setTimeout(r, 20));
        seenWhenAnswering.push(c.received.length);
        c.write(cmd === 0x1b ? snapReply : eventsReply);
      }
    });
    const src = await connect(server);
    const [a, b, c2, d] = await Promise.all([src.settingsEvents(3), src.settingsSnapshot(), src.settingsEvents(0), src.settingsSnapshot()]);
    expect(a.length).toBe(5);
    expect(b.size).toBe(4);
    expect(c2.length).toBe(5);
    expect(d.size).toBe(4);
    // 1 (SESSION) + 10 (0x1C "3") + 1 (0x1B) + 10 (0x1C "0") + 1 (0x1B): each seen only after the previous answer.
    expect(seenWhenAnswering).toEqual([11, 12, 22, 23]);
    const sent = server.connections[0]!.received;
    expect(sent.subarray(1)).toEqual(Buffer.concat([Buffer.from([0x1c]), str("3"), Buffer.from([0x1b, 0x1c]), str("0"), Buffer.from([0x1b])]));
  });
});

describe("GraphClient: subscription", () => {
  it("replays the captured subscription: 12 events, then a clean EOF ends the iterator normally", async () => {
    const rx = cap("sub0_subscribe_rx_transcript.bin");
    const server = await fake(async (c, i) => {
      if (i === 0) return c.acceptSession();
      const { banner } = splitHandshake(rx);
      c.write(banner);
      await c.read(cap("sub0_subscribe_tx_transcript.bin").length);
      c.write(rx.subarray(banner.length));
      c.socket.end();
    });
    const src = await connect(server);
    const sub = await src.subscribe(0);
    const { events, error } = await collect(sub);
    expect(error).toBeNull();
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(events[10]).toMatchObject({
      event_type: "SETTINGS_UPDATED",
      component_address: "SYS/GAIN",
      source_session_id: "723b5a16-eb35-11f1-a886-02fc00000001",
    });
    expect(sub.endReason).toBe("eof");
    expect(sub.lastSeq).toBe(12);
    expect(server.connections[1]!.received).toEqual(cap("sub0_subscribe_tx_transcript.bin"));
  });

  it("sends after_seq as a decimal string", async () => {
    let after = "";
    const server = await fake(async (c, i) => {
      if (i === 0) return c.acceptSession();
      after = await c.acceptSubscription();
      c.socket.end();
    });
    const src = await connect(server);
    const sub = await src.subscribe(1234567);
    expect((await collect(sub)).error).toBeNull();
    expect(after).toBe("1234567");
    await expect(src.subscribe(-1)).rejects.toThrow(RangeError);
    await expect(src.subscribe(1.5)).rejects.toThrow(RangeError);
  });

  const failing: { name: string; send: (c: FakeConnection) => void; error: unknown; message: RegExp; options?: GraphClientOptions }[] = [
    {
      name: "EOF inside a frame (torn frame)",
      send: (c) => {
        c.write(pushedFrame(cap("sub0_event_001.bin")), u64(545), cap("sub0_event_002.bin").subarray(0, 100));
        c.socket.end();
      },
      error: EzmsgConnectionError,
      message: /connection closed by the peer while waiting for 545 bytes/,
    },
    {
      name: "EOF inside a length prefix",
      send: (c) => {
        c.write(pushedFrame(cap("sub0_event_001.bin")), [1, 2, 3]);
        c.socket.end();
      },
      error: EzmsgConnectionError,
      message: /waiting for 8 bytes \(3 buffered\)/,
    },
    {
      name: "a garbage frame",
      send: (c) => c.write(pushedFrame(cap("sub0_event_001.bin")), pushedFrame(Buffer.from("not a pickle at all"))),
      error: EzmsgProtocolError,
      message: /undecodable event frame \(unknown_opcode at byte 0\)/,
    },
    {
      name: "a truncated pickle in a complete frame",
      send: (c) => c.write(pushedFrame(cap("sub0_event_001.bin")), pushedFrame(cap("sub0_event_002.bin").subarray(0, 500))),
      error: EzmsgProtocolError,
      message: /undecodable event frame \(truncated/,
    },
    {
      name: "a frame of the wrong shape (a settings snapshot instead of an event)",
      send: (c) => c.write(pushedFrame(cap("sub0_event_001.bin")), pushedFrame(cap("live_settings_snapshot.bin"))),
      error: EzmsgProtocolError,
      message: /settings event: expected a SettingsChangedEvent, got dict/,
    },
    {
      name: "an oversize frame",
      send: (c) => c.write(pushedFrame(cap("sub0_event_001.bin")), u64(10n ** 12n)),
      error: EzmsgProtocolError,
      message: /frame of 1000000000000 bytes exceeds maxFrameBytes=100000/,
      options: { maxFrameBytes: 100_000 },
    },
    {
      name: "a connection reset",
      send: (c) => {
        c.write(pushedFrame(cap("sub0_event_001.bin")));
        setTimeout(() => c.socket.resetAndDestroy(), 50);
      },
      error: EzmsgConnectionError,
      message: /ECONNRESET/,
    },
  ];
  for (const f of failing) {
    it(`${f.name}: the iterator throws after the good events, the connection is closed, nothing crashes`, async () => {
      const server = await fake(async (c, i) => {
        if (i === 0) return c.acceptSession();
        await c.acceptSubscription();
        f.send(c);
      });
      const src = await connect(server, f.options);
      const sub = await src.subscribe(0);
      const { events, error } = await collect(sub);
      expect(events.map((e) => e.seq)).toEqual([1]);
      expect(error).toBeInstanceOf(f.error);
      expect((error as Error).message).toMatch(f.message);
      expect((error as Error).message).toMatch(new RegExp(`^settings subscription \\(after_seq=0\\) on ezmsg://127\\.0\\.0\\.1:${server.port}: `));
      expect(sub.endReason).toBe("error");
      expect(sub.error).toBe(error);
      await server.connections[1]!.closed; // we closed it
      // The source itself is still usable.
      expect(src.sessionId).not.toBeNull();
    });
  }

  it("close() ends a waiting iterator normally", async () => {
    const server = await fake(async (c, i) => {
      if (i === 0) return c.acceptSession();
      await c.acceptSubscription();
      c.write(pushedFrame(cap("sub0_event_001.bin")));
    });
    const src = await connect(server);
    const sub = await src.subscribe(0);
    const it = sub[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ seq: 1 });
    const pending = it.next();
    await sub.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(sub.endReason).toBe("closed");
    await server.connections[1]!.closed;
  });

  it("source.close() closes its open subscriptions", async () => {
    const server = await fake(async (c, i) => {
      if (i === 0) {
        await c.acceptSession();
        await c.read(1);
        c.write([0]);
        return;
      }
      await c.acceptSubscription();
    });
    const src = await connect(server);
    const sub = await src.subscribe(0);
    const done = collect(sub);
    await src.close();
    expect(await done).toEqual({ events: [], error: null });
    expect(sub.endReason).toBe("closed");
  });

  it("a refused subscription (ack is not COMPLETE) rejects subscribe()", async () => {
    const server = await fake(async (c, i) => {
      if (i === 0) return c.acceptSession();
      c.write(str("3.9.0"));
      await c.read(1);
      await c.readStr();
      c.write(str("id"), [0x28]);
    });
    const src = await connect(server);
    await expect(src.subscribe(0)).rejects.toThrow(/subscription refused: ack byte 0x28/);
  });
});

describe("GraphClient: failures never hang", () => {
  it("a pending request fails when the server closes the session; queued ones fail too; the next request reconnects", async () => {
    const server = await fake(async (c, i) => {
      await c.acceptSession(`0000000${i}-0000-0000-0000-000000000000`);
      if (i === 0) {
        await c.read(1);
        c.socket.end(); // the server goes away mid-request
        return;
      }
      await c.read(1);
      c.write(pickledReply(cap("afterexit_settings_snapshot.bin")));
    });
    const src = await connect(server);
    const first = src.settingsSnapshot();
    const queued = src.settingsEvents(0);
    await expect(first).rejects.toBeInstanceOf(EzmsgConnectionError);
    await expect(first).rejects.toThrow(/^SESSION_SETTINGS_SNAPSHOT on session 00000000-.* on ezmsg:\/\/127\.0\.0\.1:\d+: connection closed by the peer/);
    await expect(queued).rejects.toBeInstanceOf(EzmsgConnectionError);
    expect(src.sessionId).toBeNull();
    expect((await src.settingsSnapshot()).size).toBe(0);
    expect(src.sessionId).toBe("00000001-0000-0000-0000-000000000000");
  });

  it("a request with no reply times out and closes the session", async () => {
    const server = await fake(async (c) => {
      await c.acceptSession();
      await c.read(1); // never answered
    });
    const src = await connect(server, { requestTimeoutMs: 150 });
    const started = Date.now();
    await expect(src.settingsSnapshot()).rejects.toBeInstanceOf(EzmsgTimeoutError);
    expect(Date.now() - started).toBeLessThan(1500);
    await server.connections[0]!.closed;
  });

  it("connect times out when no banner comes", async () => {
    const server = await fake(() => {});
    const started = Date.now();
    await expect(GraphClient.connect(server.address, { ...quiet, connectTimeoutMs: 150 })).rejects.toThrow(EzmsgTimeoutError);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("connect fails fast when nothing listens", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await GraphClient.connect(`127.0.0.1:${port}`, quiet).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EzmsgConnectionError);
    expect((err as Error).message).toMatch(/cannot connect \(ECONNREFUSED\)/);
  });

  it("a reply not ending in COMPLETE is a protocol error", async () => {
    const server = await fake(async (c) => {
      await c.acceptSession();
      await c.read(1);
      c.write(u64(5), cap("afterexit_settings_snapshot.bin"), [0x28]);
    });
    const src = await connect(server);
    await expect(src.settingsSnapshot()).rejects.toThrow(/reply ended with 0x28 instead of COMPLETE/);
  });

  it("an oversize reply is refused before it is read", async () => {
    const server = await fake(async (c) => {
      await c.acceptSession();
      await c.read(1);
      c.write(u64(2n ** 62n));
    });
    const src = await connect(server, { maxFrameBytes: 1024 });
    await expect(src.settingsSnapshot()).rejects.toThrow(/frame of 4611686018427387904 bytes exceeds maxFrameBytes=1024/);
  });

  it("an undecodable reply is a protocol error but the session stays in step", async () => {
    const server = await fake(async (c) => {
      await c.acceptSession();
      await c.read(1);
      c.write(pickledReply(Buffer.from([0x80, 0x04, 0xff])));
      await c.read(1);
      c.write(pickledReply(cap("live_settings_snapshot.bin")));
    });
    const src = await connect(server);
    const err = await src.settingsSnapshot().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EzmsgProtocolError);
    expect((err as Error).message).toMatch(/^SESSION_SETTINGS_SNAPSHOT on session .*: undecodable reply \(unknown_opcode at byte 2\)/);
    expect((await src.settingsSnapshot()).size).toBe(4);
  });

  it("a settings snapshot that is not a dict is a clear shape error", async () => {
    const server = await fake(async (c) => {
      await c.acceptSession();
      await c.read(1);
      c.write(pickledReply(cap("live_settings_events_after0.bin")));
    });
    const src = await connect(server);
    await expect(src.settingsSnapshot()).rejects.toThrow(/SESSION_SETTINGS_SNAPSHOT on session .*: settings snapshot: expected a dict, got list/);
  });
});

describe("GraphClient: banner", () => {
  it("warns when the server is not ezmsg 3.9.0 or 3.10.0b5 and continues", async () => {
    const server = await fake((c) => c.acceptSession(undefined, "3.10.0b1"));
    const onWarning = vi.fn();
    const src = await connect(server, { onWarning });
    expect(src.serverVersion).toBe("3.10.0b1");
    expect(onWarning).toHaveBeenCalledOnce();
    expect(onWarning.mock.calls[0]![0]).toMatch(/server runs ezmsg 3\.10\.0b1; this client speaks the ezmsg 3\.9\.0 \/ 3\.10\.0b5 protocol/);
  });

  it("refuses something that is not an ezmsg banner", async () => {
    const server = await fake((c) => c.write(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n")));
    await expect(GraphClient.connect(server.address, quiet)).rejects.toThrow(/not an ezmsg GraphServer: version banner: declared length \d+ exceeds 64 bytes/);
    const server2 = await fake((c) => c.write(str("\u0000\u0001")));
    await expect(GraphClient.connect(server2.address, quiet)).rejects.toThrow(/not an ezmsg GraphServer: banner .* is not a version string/);
  });
});

describe("graph addresses", () => {
  it("parses HOST:PORT", () => {
    expect(parseGraphAddress("127.0.0.1:25978")).toEqual({ host: "127.0.0.1", port: 25978 });
    expect(parseGraphAddress(" localhost:1 ")).toEqual({ host: "localhost", port: 1 });
    for (const bad of ["", "host", ":1", "h:0", "h:65536", "h:x", "::1:25978", "h:1:2"]) {
      expect(() => parseGraphAddress(bad), bad).toThrow(/invalid ezmsg GraphServer address/);
    }
  });
  it("defaults to EZMSG_GRAPHSERVER_ADDR, else 127.0.0.1:25978", () => {
    expect(defaultGraphAddress({})).toEqual({ host: "127.0.0.1", port: 25978 });
    expect(defaultGraphAddress({ EZMSG_GRAPHSERVER_ADDR: "" })).toEqual({ host: "127.0.0.1", port: 25978 });
    expect(defaultGraphAddress({ EZMSG_GRAPHSERVER_ADDR: "10.0.0.2:4000" })).toEqual({ host: "10.0.0.2", port: 4000 });
    expect(() => defaultGraphAddress({ EZMSG_GRAPHSERVER_ADDR: "nope" })).toThrow(/invalid/);
  });
});
