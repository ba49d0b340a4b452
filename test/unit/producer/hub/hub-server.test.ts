import type { JsonObject } from "../../../../src/events/json.js";
import { describe, expect, it } from "vitest";
import { jsonObject, stringifyJson } from "../../../../src/events/json.js";
import { HubPublisher } from "../../../../src/producer/hub/hub-publisher.js";
import { HubReader } from "../../../../src/producer/hub/hub-reader.js";
import type { SourceSettingsEvent } from "../../../../src/producer/source.js";
import { RawClient, startHub, track, withTimeout } from "./helpers.js";

const s = jsonObject;

async function collect(it: AsyncIterable<SourceSettingsEvent>, n: number, ms = 5000): Promise<SourceSettingsEvent[]> {
  const out: SourceSettingsEvent[] = [];
  const iter = it[Symbol.asyncIterator]();
  await withTimeout(
    (async () => {
      while (out.length < n) {
        const r = await iter.next();
        if (r.done) break;
        out.push(r.value);
      }
    })(),
    ms,
    `collecting ${n} events`,
  );
  return out;
}

describe("hub server over real sockets", () => {
  it("binds 127.0.0.1 on a free port and says hello", async () => {
    const hub = await startHub();
    expect(hub.host).toBe("127.0.0.1");
    expect(hub.port).toBeGreaterThan(0);
    const raw = await RawClient.open(hub.url);
    const hello = await raw.waitFor((m) => m.get("type") === "hello");
    expect(hello.get("server")).toBe("nwb-settings-hub");
    expect(hello.get("max_message_bytes")).toBe(1048576n);
    expect(hello.get("instance")).toBe(hub.instanceId);
  });

  it("register → INITIAL_SETTINGS, update → SETTINGS_UPDATED, snapshot, history, sessions", async () => {
    const hub = await startHub();
    const pub = track(await HubPublisher.connect(hub.url, { session: "sess-A" }));
    const other = track(await HubPublisher.connect(hub.url));
    expect(await pub.register("SYS/GAIN", s({ gain: 1.0, taps: 3n }))).toBe(1);
    expect(await pub.register("SYS/FILT", s({ cutoff: 2.5 }), { repr: "Filt(cutoff=2.5)" })).toBe(2);
    expect(await other.register("OTHER/X", s({ big: 2n ** 70n, nan: Number.NaN }))).toBe(3);
    expect(await pub.update("SYS/GAIN", s({ gain: 2.0, taps: 3n }))).toBe(4);

    const reader = track(await HubReader.connect(hub.url));
    const snap = await reader.settingsSnapshot();
    expect([...snap.keys()]).toEqual(["OTHER/X", "SYS/FILT", "SYS/GAIN"]);
    expect(stringifyJson(snap.get("SYS/GAIN")!.structured_value)).toBe('{"gain": 2.0, "taps": 3}');
    expect(snap.get("SYS/FILT")!.repr_value).toBe("Filt(cutoff=2.5)");
    const x = snap.get("OTHER/X")!.structured_value as Map<string, unknown>;
    expect(x.get("big")).toBe(2n ** 70n);
    expect(Number.isNaN(x.get("nan"))).toBe(true);

    const all = await reader.settingsEvents(0);
    expect(all.map((e) => [e.seq, e.component_address, e.event_type, e.source_session_id])).toEqual([
      [1, "SYS/GAIN", "INITIAL_SETTINGS", "sess-A"],
      [2, "SYS/FILT", "INITIAL_SETTINGS", "sess-A"],
      [3, "OTHER/X", "INITIAL_SETTINGS", null],
      [4, "SYS/GAIN", "SETTINGS_UPDATED", "sess-A"],
    ]);
    expect(all[0]!.timestamp).toBeGreaterThan(1e9);
    expect((await reader.settingsEvents(2)).map((e) => e.seq)).toEqual([3, 4]);
    expect(await reader.settingsEvents(4)).toEqual([]);
    expect(await reader.sessionComponents("sess-A")).toEqual(["SYS/FILT", "SYS/GAIN"]);
    expect(await reader.sessionComponents("nope")).toBeNull();

    // another publisher cannot take an address; unknown components cannot be updated
    await expect(other.register("SYS/GAIN", s({}))).rejects.toMatchObject({ code: "conflict" });
    await expect(other.update("NOPE", s({}))).rejects.toMatchObject({ code: "unknown_component" });

    // a publisher's components leave (silently) when it disconnects
    await pub.close();
    await withTimeout(
      (async () => {
        while ((await reader.sessionComponents("sess-A")) !== null) await new Promise((r) => setTimeout(r, 10));
      })(),
      3000,
      "session removal",
    );
    expect([...(await reader.settingsSnapshot()).keys()]).toEqual(["OTHER/X"]);
    expect((await reader.settingsEvents(0)).length).toBe(4);
  });

  it("settings must be a JSON object", async () => {
    const hub = await startHub();
    const raw = await RawClient.open(hub.url);
    raw.send('{"type": "register", "id": 7, "component": "A", "settings": [1, 2]}');
    const err = await raw.waitFor((m) => m.get("type") === "error");
    expect(err.get("id")).toBe(7n);
    expect(err.get("code")).toBe("bad_settings");
    raw.send('{"type": "register", "id": "x", "component": "A", "settings": {"a": 1}}');
    const ok = await raw.waitFor((m) => m.get("type") === "registered");
    expect(ok.get("id")).toBe("x");
    expect(ok.get("seq")).toBe(1n);
  });

  it("subscribe replays after a seq, then goes live, with no gap or duplicate under concurrent publishing", async () => {
    const hub = await startHub();
    const pubs = await Promise.all([0, 1, 2].map(() => HubPublisher.connect(hub.url).then(track)));
    await Promise.all(pubs.map((p, i) => p.register(`C${i}`, s({ v: 0n }))));
    const total = 3 + 3 * 200;
    // publish concurrently from three connections while readers subscribe at different points
    const publishing = Promise.all(
      pubs.map(async (p, i) => {
        for (let k = 1; k <= 200; k++) {
          await p.update(`C${i}`, s({ v: BigInt(k) }));
          if (k % 50 === 0) await new Promise((r) => setImmediate(r));
        }
      }),
    );
    // readers subscribe while publishing goes on, each after the seq the hub had just reached
    const readers = await Promise.all([0, 1, 2, 3].map(() => HubReader.connect(hub.url).then(track)));
    const afters: number[] = [];
    const subs = [];
    for (const r of readers) {
      afters.push(hub.store.lastSeq);
      subs.push(await r.subscribe(afters.at(-1)!));
      await new Promise((res) => setTimeout(res, 2));
    }
    await publishing;
    expect(new Set(afters).size).toBeGreaterThan(1);
    for (let i = 0; i < subs.length; i++) {
      const after = afters[i]!;
      const got = await collect(subs[i]!, total - after);
      expect(got.map((e) => e.seq)).toEqual(Array.from({ length: total - after }, (_, k) => after + 1 + k));
    }
    // per component, values arrive in publish order
    const events = await readers[0]!.settingsEvents(0);
    for (const c of ["C0", "C1", "C2"]) {
      const vs = events
        .filter((e) => e.component_address === c && e.event_type === "SETTINGS_UPDATED")
        .map((e) => (e.value.structured_value as Map<string, unknown>).get("v"));
      expect(vs).toEqual(Array.from({ length: 200 }, (_, k) => BigInt(k + 1)));
    }
  });

  it("a reader reconnects and resumes after the last seq it saw", async () => {
    const hub = await startHub();
    const pub = track(await HubPublisher.connect(hub.url));
    await pub.register("A", s({ v: 0n }));
    const r1 = track(await HubReader.connect(hub.url));
    const sub1 = await r1.subscribe(0);
    for (let k = 1; k <= 5; k++) await pub.update("A", s({ v: BigInt(k) }));
    const first = await collect(sub1, 6);
    const last = first.at(-1)!.seq;
    await r1.close();
    expect(sub1.endReason).toBe("closed");
    for (let k = 6; k <= 9; k++) await pub.update("A", s({ v: BigInt(k) }));
    const r2 = track(await HubReader.connect(hub.url));
    const missed = await r2.settingsEvents(last);
    const sub2 = await r2.subscribe(missed.at(-1)!.seq);
    await pub.update("A", s({ v: 10n }));
    const live = await collect(sub2, 1);
    expect([...first, ...missed, ...live].map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("a subscription ends normally when the hub shuts down, and calls then fail", async () => {
    const hub = await startHub();
    const reader = track(await HubReader.connect(hub.url));
    const sub = await reader.subscribe(0);
    const ended = collect(sub, 1);
    await hub.close();
    expect(await ended).toEqual([]);
    expect(sub.endReason).toBe("eof");
    await expect(reader.settingsSnapshot()).rejects.toMatchObject({ code: "closed" });
  });

  it("unknown message type and malformed JSON get error replies; the connection is kept", async () => {
    const hub = await startHub();
    const raw = await RawClient.open(hub.url);
    raw.send('{"type": "frobnicate", "id": 1}');
    const e1 = await raw.waitFor((m) => m.get("type") === "error");
    expect([e1.get("id"), e1.get("code")]).toEqual([1n, "unknown_type"]);
    expect(String(e1.get("message"))).toContain("frobnicate");
    raw.send('{"type": "snapshot", "id": 2');
    const e2 = await raw.waitFor((m) => m.get("type") === "error" && m.get("code") === "bad_json");
    expect(e2.get("id")).toBeNull();
    expect(String(e2.get("message"))).toMatch(/malformed JSON/);
    raw.send('{"type": "snapshot"}');
    const e3 = await raw.waitFor((m) => m.get("type") === "error" && m.get("code") === "bad_request");
    expect(String(e3.get("message"))).toContain('"id"');
    raw.send(Buffer.from([1, 2, 3]));
    raw.send('{"type": "events", "id": 3, "after_seq": -1}');
    const e4 = await raw.waitFor((m) => m.get("id") === 3n);
    expect(e4.get("code")).toBe("bad_request");
    raw.send('{"type": "snapshot", "id": 4}');
    const snap = await raw.waitFor((m) => m.get("type") === "snapshot");
    expect(snap.get("id")).toBe(4n);
    expect(raw.closed).toBeNull();
  });

  it("an oversize message is refused: the hub closes with 1009 and the client sees a clear error", async () => {
    const hub = await startHub({ maxMessageBytes: 4096 });
    // what ws does: the frame header already exceeds maxPayload → close 1009, no error message
    const raw = await RawClient.open(hub.url);
    raw.send(`{"type": "register", "id": 1, "component": "A", "settings": {"x": "${"a".repeat(5000)}"}}`);
    const closed = await raw.waitClosed();
    expect(closed.code).toBe(1009);
    expect(raw.messages.map((m) => m.get("type"))).toEqual(["hello"]);

    // our client refuses locally (connection kept) ...
    const pub = track(await HubPublisher.connect(hub.url));
    await expect(pub.register("A", s({ x: "a".repeat(5000) }))).rejects.toThrow(/exceeds the hub's limit of 4096 bytes; not sent/);
    expect(await pub.register("A", s({ x: "small" }))).toBe(1);
    // ... and, without the local check, reports the hub's refusal clearly
    const blind = track(await HubPublisher.connect(hub.url, { checkMessageSize: false }));
    const err = await blind.register("B", s({ x: "a".repeat(5000) })).catch((e) => e);
    expect(err).toMatchObject({ code: "message_too_large", closeCode: 1009 });
    expect(String(err.message)).toMatch(/message too big.*limit of 4096 bytes/);
  });

  it("history keeps at most historyLimit events (oldest dropped); a subscription after a trimmed seq starts at the oldest", async () => {
    const hub = await startHub({ historyLimit: 5 });
    const pub = track(await HubPublisher.connect(hub.url));
    await pub.register("A", s({ v: 0n }));
    for (let k = 1; k <= 11; k++) await pub.update("A", s({ v: BigInt(k) }));
    const reader = track(await HubReader.connect(hub.url));
    expect((await reader.settingsEvents(0)).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect((await reader.settingsEvents(10)).map((e) => e.seq)).toEqual([11, 12]);
    const sub = await reader.subscribe(2);
    expect((await collect(sub, 5)).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(hub.stats()).toMatchObject({ lastSeq: 12, retainedEvents: 5 });
  });

  it("history is also bounded in bytes, and events replies are chunked", async () => {
    const hub = await startHub({ historyMaxBytes: 20_000, replyChunkBytes: 3000 });
    const pub = track(await HubPublisher.connect(hub.url));
    await pub.register("A", s({ v: "x".repeat(900) }));
    for (let k = 1; k <= 40; k++) await pub.update("A", s({ v: "x".repeat(900), k: BigInt(k) }));
    const reader = track(await HubReader.connect(hub.url));
    const events = await reader.settingsEvents(0);
    expect(events.length).toBeLessThan(25);
    expect(events.at(-1)!.seq).toBe(41);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: events.length }, (_, i) => 42 - events.length + i));
  });

  it("without publisher backpressure, a slow reader does not block publishers and is dropped with a clear reason past the bound", async () => {
    const hub = await startHub({ historyLimit: 200, readerHighWaterBytes: 64 * 1024, closeGraceMs: 30_000, holdPublishersAt: 0 });
    const pub = track(await HubPublisher.connect(hub.url));
    await pub.register("A", s({ v: "" }));
    const slow = await RawClient.open(hub.url);
    slow.send('{"type": "subscribe", "id": "s", "after_seq": 0}');
    await slow.waitFor((m) => m.get("type") === "subscribed");
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // stop reading at the TCP level
    const fast = track(await HubReader.connect(hub.url, { maxQueuedBytes: 256 * 1024 * 1024 })); // takes its events after the publishing
    const fastSub = await fast.subscribe(0);

    const payload = "y".repeat(100_000);
    const t0 = performance.now();
    let maxPublishMs = 0;
    for (let k = 1; k <= 400; k++) {
      const t = performance.now();
      await pub.update("A", s({ v: payload, k: BigInt(k) }));
      maxPublishMs = Math.max(maxPublishMs, performance.now() - t);
    }
    const totalMs = performance.now() - t0;
    // the fast reader got everything, in order
    const got = await collect(fastSub, 401, 10_000);
    expect(got.at(-1)!.seq).toBe(401);
    expect(hub.stats().droppedReaders).toBe(1);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.waitClosed();
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/reader too slow: seq \d+ left the history/);
    console.log(`slow-reader test: 400 updates of 100 kB in ${totalMs.toFixed(0)} ms, slowest publish ${maxPublishMs.toFixed(1)} ms`);
    expect(maxPublishMs).toBeLessThan(1000);
  });

  it("a reader that falls behind holds the publishers back instead of losing events, and every event arrives", async () => {
    const logs: string[] = [];
    const hub = await startHub({ historyLimit: 100, readerHighWaterBytes: 16 * 1024, readerStallMs: 20_000, onLog: (m) => logs.push(m) });
    const pub = track(await HubPublisher.connect(hub.url));
    await pub.register("A", s({ v: "" }));
    const slow = await RawClient.open(hub.url);
    slow.send('{"type": "subscribe", "id": "s", "after_seq": 0}');
    await slow.waitFor((m) => m.get("type") === "subscribed");
    const sock = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    sock.pause(); // the reader stops reading for a while
    const payload = "z".repeat(100_000);
    let published = 0;
    const publishing = (async () => {
      for (let k = 1; k <= 300; k++) {
        await pub.update("A", s({ v: payload, k: BigInt(k) }), {});
        published = k;
      }
    })();
    const deadline = Date.now() + 15_000;
    while (hub.stats().publishersHeld === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(hub.stats().publishersHeld).toBe(1);
    const heldAt = published;
    await new Promise((r) => setTimeout(r, 500));
    expect(published).toBeLessThanOrEqual(heldAt + 1); // the publisher waits (its update is not acknowledged)
    expect(published).toBeLessThan(300);
    sock.resume(); // the reader catches up; the publisher goes on
    await publishing;
    const seqOf = (m: JsonObject): number => Number((m.get("event") as JsonObject).get("seq"));
    await slow.waitFor((m) => m.get("type") === "event" && seqOf(m) === 301, 30_000);
    const seqs = slow.messages.filter((m) => m.get("type") === "event").map(seqOf);
    expect(seqs).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
    expect(hub.stats().droppedReaders).toBe(0);
    expect(logs.some((l) => /holding publishers/.test(l))).toBe(true);
    expect(logs.some((l) => /publishers released/.test(l))).toBe(true);
    slow.ws.close();
  }, 60_000);

  it("a reader that stops reading altogether holds publishers at most readerStallMs, then is dropped (4008)", async () => {
    const hub = await startHub({ historyLimit: 100, readerHighWaterBytes: 16 * 1024, readerStallMs: 1500, closeGraceMs: 30_000 });
    const pub = track(await HubPublisher.connect(hub.url));
    await pub.register("A", s({ v: "" }));
    const stalled = await RawClient.open(hub.url);
    stalled.send('{"type": "subscribe", "id": "t", "after_seq": 1}');
    await stalled.waitFor((m) => m.get("type") === "subscribed");
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = "z".repeat(100_000);
    const t0 = performance.now();
    for (let k = 1; k <= 300; k++) await pub.update("A", s({ v: payload, k: BigInt(k) }));
    const ms = performance.now() - t0;
    expect(hub.stats().droppedReaders).toBe(1);
    expect(ms).toBeLessThan(10_000);
    (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await stalled.waitClosed();
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/reader stalled/);
  }, 60_000);

  it("a HubReader whose consumer stalls is dropped and its subscription throws slow_reader", async () => {
    const hub = await startHub({ historyLimit: 50, readerHighWaterBytes: 16 * 1024, readerStallMs: 1000 });
    const pub = track(await HubPublisher.connect(hub.url));
    await pub.register("A", s({ v: "" }));
    const reader = track(await HubReader.connect(hub.url, { maxQueuedEvents: 8 }));
    const sub = await reader.subscribe(0);
    for (let k = 1; k <= 300; k++) await pub.update("A", s({ v: "z".repeat(50_000), k: BigInt(k) }));
    const err = await withTimeout(
      (async () => {
        try {
          for await (const _ of sub) {
            /* drain what was queued */
          }
        } catch (e) {
          return e;
        }
        return null;
      })(),
      10_000,
      "draining stalled subscription",
    );
    expect(err).toMatchObject({ code: "slow_reader", closeCode: 4008 });
    expect(sub.endReason).toBe("error");
  });

  it("refuses connections past maxConnections with 1013", async () => {
    const hub = await startHub({ maxConnections: 1 });
    await RawClient.open(hub.url);
    await expect(HubReader.connect(hub.url)).rejects.toThrow(/code 1013/);
  });
});
