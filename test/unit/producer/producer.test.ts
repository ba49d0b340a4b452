import { afterEach, describe, expect, it } from "vitest";
import { INIT_FINAL_COMPONENT_ADDRESS, type PipelineSettingsEvent } from "../../../src/events/event.js";
import { jsonObject } from "../../../src/events/json.js";
import { backoffDelay } from "../../../src/producer/backoff.js";
import { type ProducerOptions, ProducerGaveUpError, SettingsProducer, compareAddresses } from "../../../src/producer/producer.js";
import type { SettingsSource } from "../../../src/producer/source.js";
import { FakeServer, val } from "./fake-source.js";

const WALL = 1_700_000_500.25;
const MONO = 42.5;
const rebased = (ts: number) => ts - WALL + MONO;

const producers: SettingsProducer[] = [];
afterEach(async () => {
  for (const p of producers.splice(0)) await withTimeout(p.stop(), 3000, "stop");
});

function withTimeout<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let t: NodeJS.Timeout;
  const text = () => (typeof what === "string" ? what : what());
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, j) => (t = setTimeout(() => j(new Error(`timed out after ${ms} ms: ${text()}`)), ms))),
  ]);
}

interface Harness {
  producer: SettingsProducer;
  logs: string[];
  take(n: number, ms?: number): Promise<PipelineSettingsEvent[]>;
  /** Resolves with whatever arrives within `ms` (expecting nothing). */
  nothingWithin(ms: number): Promise<PipelineSettingsEvent[]>;
}

function harness(factory: () => Promise<SettingsSource>, options: ProducerOptions = {}): Harness {
  const logs: string[] = [];
  const producer = new SettingsProducer(factory, {
    clock: { wallNow: () => WALL, monotonicNow: () => MONO },
    logger: { info: (m) => logs.push(`info: ${m}`), warn: (m) => logs.push(`warn: ${m}`) },
    reconnect: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 },
    ...options,
  });
  producers.push(producer);
  const it = producer[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<PipelineSettingsEvent>> | null = null;
  const nextOne = () => (pending ??= it.next());
  return {
    producer,
    logs,
    async take(n, ms = 3000) {
      const out: PipelineSettingsEvent[] = [];
      await withTimeout(
        (async () => {
          while (out.length < n) {
            const r = await nextOne();
            pending = null;
            if (r.done) break;
            out.push(r.value);
          }
        })(),
        ms,
        () => `taking ${n} events (got ${out.length})`,
      );
      return out;
    },
    async nothingWithin(ms) {
      const out: PipelineSettingsEvent[] = [];
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const r = await Promise.race([nextOne(), new Promise<null>((res) => setTimeout(() => res(null), Math.max(1, deadline - Date.now())))]);
        if (r === null) break;
        pending = null;
        if (r.done) break;
        out.push(r.value);
      }
      return out;
    },
  };
}

const brief = (e: PipelineSettingsEvent) => [e.seq, e.component_address, e.event_type];
const g = (x: number) => val(jsonObject({ gain: x }));

describe("producer: startup snapshot (seed semantics)", () => {
  it("one INITIAL per component in sorted order, with the latest history event's seq/timestamp/session, then the sentinel", async () => {
    const srv = new FakeServer();
    srv.register("SYS/TICK", g(1), "s1", 100.5);
    srv.register("SYS/GAIN", g(2), "s1", 101.5);
    srv.register("SYS", g(3), "s1", 102.5);
    srv.update("SYS/GAIN", g(4), 103.5); // seq 4, latest for SYS/GAIN
    srv.setSilently("AAA/NOHIST", g(5)); // in the snapshot, no event
    const h = harness(() => srv.connect());
    const got = await h.take(5);
    expect(got.map(brief)).toEqual([
      [0, "AAA/NOHIST", "INITIAL"],
      [3, "SYS", "INITIAL"],
      [4, "SYS/GAIN", "INITIAL"],
      [1, "SYS/TICK", "INITIAL"],
      [4, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect(got[0]!.timestamp).toBe(rebased(WALL)); // "now", then rebased
    expect(got[0]!.source_session_id).toBeNull();
    expect(got[2]!.timestamp).toBe(rebased(103.5));
    expect(got[2]!.structured_value).toEqual(jsonObject({ gain: 4 }));
    expect(got[2]!.source_session_id).toBe("s1");
    expect(got[3]!.timestamp).toBe(rebased(100.5));
    // sentinel: seq = highest seq seen, timestamp = latest INITIAL timestamp (here "now" of AAA/NOHIST)
    expect(got[4]).toMatchObject({ repr_value: "", structured_value: null, source_session_id: null, table_name: "settings_annotations" });
    expect(got[4]!.timestamp).toBe(rebased(WALL));
  });

  it("sentinel timestamp is the latest INITIAL timestamp; its seq counts out-of-scope history too", async () => {
    const srv = new FakeServer();
    srv.register("A", g(1), null, 200.25);
    srv.register("B", g(1), null, 300.75);
    srv.register("OUT", g(1), null, 999.0); // seq 3, out of scope
    const h = harness(() => srv.connect(), { scope: { components: ["A", "B"] }, tableName: "tbl" });
    const got = await h.take(3);
    expect(got.map(brief)).toEqual([
      [1, "A", "INITIAL"],
      [2, "B", "INITIAL"],
      [3, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect(got[2]!.timestamp).toBe(rebased(300.75));
    expect(got.every((e) => e.table_name === "tbl")).toBe(true);
  });

  it("no INITIAL → no sentinel; live events still flow", async () => {
    const srv = new FakeServer();
    const h = harness(() => srv.connect());
    expect(await h.nothingWithin(50)).toEqual([]);
    srv.register("A", g(1), null, 10.0);
    srv.update("A", g(2), 11.0);
    expect((await h.take(2)).map(brief)).toEqual([
      [1, "A", "INITIAL"],
      [2, "A", "UPDATED"],
    ]);
  });

  it("a component registered between the startup reads (history, snapshot) is neither lost nor repeated", async () => {
    const srv = new FakeServer();
    srv.register("A", g(1), null, 10.0);
    let reads = 0;
    const h = harness(async () => {
      const source = await srv.connect();
      // B registers right after the producer's first startup read, before its second
      const afterFirstRead =
        <T>(read: () => Promise<T>) =>
        async (): Promise<T> => {
          const r = await read();
          if (++reads === 1) srv.register("B", g(2), null, 11.0);
          return r;
        };
      source.settingsSnapshot = afterFirstRead(source.settingsSnapshot.bind(source));
      const events = source.settingsEvents.bind(source);
      source.settingsEvents = (after: number) => afterFirstRead(() => events(after))();
      return source;
    });
    expect((await h.take(3)).map(brief)).toEqual([
      [1, "A", "INITIAL"],
      [2, "B", "INITIAL"],
      [2, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect((await h.nothingWithin(50)).map(brief)).toEqual([]);
    srv.update("B", g(3), 12.0);
    expect((await h.take(1)).map(brief)).toEqual([[3, "B", "UPDATED"]]);
  });

  it("no sentinel when nothing is in scope", async () => {
    const srv = new FakeServer();
    srv.register("A", g(1));
    const h = harness(() => srv.connect(), { scope: { components: ["Z"] } });
    expect(await h.nothingWithin(50)).toEqual([]);
  });

  it("sorts addresses by code point, like Python's sorted", () => {
    const addrs = ["b", "\u{1F600}", "\uFF5E", "a/Z", "a"];
    expect([...addrs].sort(compareAddresses)).toEqual(["a", "a/Z", "b", "\uFF5E", "\u{1F600}"]);
  });
});

describe("producer: live events", () => {
  it("subscribes after the highest seq: INITIAL_SETTINGS → INITIAL, SETTINGS_UPDATED → UPDATED, values and sessions kept", async () => {
    const srv = new FakeServer();
    srv.register("A", g(1), "s", 1.0);
    srv.update("A", g(2), 2.0);
    const h = harness(() => srv.connect());
    expect((await h.take(2)).map(brief)).toEqual([
      [2, "A", "INITIAL"],
      [2, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    srv.update("A", g(3), 3.5);
    srv.register("B", val("B(repr)"), "s", 4.5);
    const live = await h.take(2);
    expect(live.map(brief)).toEqual([
      [3, "A", "UPDATED"],
      [4, "B", "INITIAL"],
    ]);
    expect(live[0]).toMatchObject({ source_session_id: "s", timestamp: rebased(3.5) });
    expect(live[1]).toMatchObject({ repr_value: "B(repr)", structured_value: null });
  });

  it("rebases each timestamp when the consumer takes it (ts - wallNow + monotonicNow)", async () => {
    const srv = new FakeServer();
    let wall = 1000.0;
    let mono = 7.0;
    const h = harness(() => srv.connect(), { clock: { wallNow: () => wall, monotonicNow: () => mono } });
    await withTimeout(
      (async () => {
        while (h.producer.status.state !== "live") await new Promise((r) => setTimeout(r, 2));
      })(),
      1000,
      "live",
    );
    srv.register("A", g(1), null, 990.5);
    await new Promise((r) => setTimeout(r, 20)); // queued now, taken later
    wall = 2000.0;
    mono = 50.0;
    const [e] = await h.take(1);
    expect(e!.timestamp).toBe(990.5 - 2000.0 + 50.0);
  });

  it("scope by component list drops the others", async () => {
    const srv = new FakeServer();
    srv.register("A", g(1));
    srv.register("B", g(1));
    const h = harness(() => srv.connect(), { scope: { components: ["B"] } });
    expect((await h.take(2)).map(brief)).toEqual([
      [2, "B", "INITIAL"],
      [2, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    srv.update("A", g(2));
    srv.update("B", g(2));
    expect((await h.take(1)).map(brief)).toEqual([[4, "B", "UPDATED"]]);
  });

  it("scope by session: that session's components, including ones it registers later", async () => {
    const srv = new FakeServer();
    srv.register("P1/A", g(1), "mine");
    srv.register("P2/A", g(1), "theirs");
    srv.register("P1/B", g(1), "mine");
    const h = harness(() => srv.connect(), { scope: { session: "mine" } });
    expect((await h.take(3)).map(brief)).toEqual([
      [1, "P1/A", "INITIAL"],
      [3, "P1/B", "INITIAL"],
      [3, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    srv.update("P2/A", g(2));
    srv.register("P1/C", g(1), "mine");
    srv.update("P1/A", g(2));
    expect((await h.take(2)).map(brief)).toEqual([
      [5, "P1/C", "INITIAL"],
      [6, "P1/A", "UPDATED"],
    ]);
  });

  it("scope all takes everything", async () => {
    const srv = new FakeServer();
    srv.register("X", g(1));
    const h = harness(() => srv.connect(), { scope: "all" });
    expect((await h.take(2)).map(brief)).toEqual([
      [1, "X", "INITIAL"],
      [1, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
  });
});

describe("producer: staying connected", () => {
  it("resumes after the subscription ends mid-stream: nothing lost, nothing twice", async () => {
    const srv = new FakeServer();
    srv.register("A", g(0));
    const h = harness(() => srv.connect());
    await h.take(2);
    for (let k = 1; k <= 3; k++) srv.update("A", g(k));
    expect((await h.take(3)).map((e) => e.seq)).toEqual([2, 3, 4]);
    srv.dropSubscriptions("end");
    srv.down = true; // unreachable for a while; updates keep happening at the source
    for (let k = 4; k <= 6; k++) srv.update("A", g(k));
    await new Promise((r) => setTimeout(r, 30));
    srv.down = false;
    srv.update("A", g(7));
    const after = await h.take(4);
    expect(after.map(brief)).toEqual([
      [5, "A", "UPDATED"],
      [6, "A", "UPDATED"],
      [7, "A", "UPDATED"],
      [8, "A", "UPDATED"],
    ]);
    expect(await h.nothingWithin(50)).toEqual([]);
    expect(h.logs.some((l) => l.startsWith("warn:") && l.includes("subscription ended"))).toBe(true);
    expect(h.logs.some((l) => l.includes("cannot connect") && l.includes("ECONNREFUSED"))).toBe(true);
    expect(h.logs.some((l) => /resumed after seq 4; [34] missed event\(s\) recovered/.test(l))).toBe(true);
    expect(h.producer.status.disconnects).toBeGreaterThanOrEqual(2);
  });

  it("resumes after a subscription error (events queued before the error are kept)", async () => {
    const srv = new FakeServer();
    srv.register("A", g(0));
    const h = harness(() => srv.connect());
    await h.take(2);
    srv.update("A", g(1));
    srv.dropSubscriptions(new Error("ECONNRESET (fake)"));
    srv.update("A", g(2));
    expect((await h.take(2)).map((e) => e.seq)).toEqual([2, 3]);
    expect(h.logs.some((l) => l.includes("connection lost") && l.includes("ECONNRESET"))).toBe(true);
  });

  it("retries an unreachable source with backoff until it comes up", async () => {
    const srv = new FakeServer();
    srv.down = true;
    srv.register("A", g(0));
    const h = harness(() => srv.connect(), { reconnect: { initialDelayMs: 5, maxDelayMs: 40, jitter: 0 } });
    await new Promise((r) => setTimeout(r, 60));
    srv.down = false;
    expect((await h.take(2)).map(brief)).toEqual([
      [1, "A", "INITIAL"],
      [1, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    const delays = h.logs.filter((l) => l.includes("reconnecting in")).map((l) => Number(/in (\d+) ms/.exec(l)![1]));
    expect(delays.slice(0, 4)).toEqual([5, 10, 20, 40]);
  });

  it("a gap on the live subscription is filled from history without loss", async () => {
    const srv = new FakeServer();
    srv.register("A", g(0));
    const h = harness(() => srv.connect());
    await h.take(2);
    srv.skipLive.add(3); // the subscription loses seq 3 (like an ezmsg queue overflow)
    srv.update("A", g(1));
    srv.update("A", g(2));
    srv.update("A", g(3));
    srv.skipLive.clear();
    const got = await h.take(3);
    expect(got.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(await h.nothingWithin(30)).toEqual([]);
    expect(h.logs.some((l) => l.includes("gap in the subscription: seq 2 then 4"))).toBe(true);
  });

  it("events lost for good (history trimmed while away) → resync: INITIAL for changed components, then the sentinel", async () => {
    const srv = new FakeServer(3);
    srv.register("A", g(0));
    srv.register("B", g(0));
    srv.register("C", g(0));
    const h = harness(() => srv.connect());
    await h.take(4);
    srv.dropSubscriptions();
    srv.down = true;
    srv.update("A", g(1)); // 4
    srv.update("A", g(2)); // 5
    srv.update("A", g(3)); // 6
    srv.update("C", g(1)); // 7 → history keeps 5..7
    srv.update("C", g(0)); // 8: C back to what we saw → unchanged; history 6..8
    srv.down = false;
    const got = await h.take(2);
    expect(got.map(brief)).toEqual([
      [6, "A", "INITIAL"],
      [8, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect(got[0]!.structured_value).toEqual(jsonObject({ gain: 3 }));
    expect(h.logs.some((l) => l.includes("gap: events 4..5 are no longer retained"))).toBe(true);
    srv.update("B", g(9));
    expect((await h.take(1)).map(brief)).toEqual([[9, "B", "UPDATED"]]);
    expect(h.producer.status.resyncs).toBe(1);
  });

  it("detects a restarted source (its seq is below ours) and resyncs from its snapshot", async () => {
    let srv = new FakeServer();
    srv.register("A", g(1));
    srv.register("B", g(1));
    srv.register("C", g(1));
    srv.update("A", g(2));
    const h = harness(() => srv.connect());
    await h.take(4);
    srv.dropSubscriptions();
    srv.down = true;
    // a new source instance: seq restarts, A unchanged, B changed, C gone, D new
    srv = new FakeServer(10_000, () => 5000.0);
    srv.register("A", g(2));
    srv.register("B", g(7));
    srv.register("D", g(1));
    const got = await h.take(3);
    expect(got.map(brief)).toEqual([
      [2, "B", "INITIAL"],
      [3, "D", "INITIAL"],
      [3, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect(got[0]!.structured_value).toEqual(jsonObject({ gain: 7 }));
    expect(h.logs.some((l) => l.includes("restart detected: its newest retained seq is below our last seq 4"))).toBe(true);
    expect(h.logs.some((l) => l.includes("resynced (restarted source; seq 4 → 3)") && l.includes("1 unchanged") && l.includes("gone [C]"))).toBe(true);
    srv.update("A", g(3));
    expect((await h.take(1)).map(brief)).toEqual([[4, "A", "UPDATED"]]);
  });

  it("detects a restarted source that already passed our seq (different event at our last seq)", async () => {
    let srv = new FakeServer();
    srv.register("A", g(1), null, 10.0);
    srv.update("A", g(2), 11.0);
    const h = harness(() => srv.connect());
    await h.take(2);
    srv.dropSubscriptions();
    srv = new FakeServer();
    srv.register("A", g(1), null, 20.0);
    srv.register("B", g(1), null, 21.0);
    srv.update("A", g(5), 22.0);
    srv.update("B", g(5), 23.0); // seq 4 > our 2
    const got = await h.take(3);
    expect(got.map(brief)).toEqual([
      [3, "A", "INITIAL"],
      [4, "B", "INITIAL"],
      [4, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect(h.logs.some((l) => l.includes("restart detected: its event at seq 2 is not the one we saw"))).toBe(true);
  });

  it("a subscription that goes backwards in seq is treated as a restart", async () => {
    const srv = new FakeServer();
    srv.register("A", g(1));
    srv.register("B", g(1));
    const h = harness(() => srv.connect());
    await h.take(3);
    // the source forgets everything under the same connection
    srv.events.length = 0;
    srv.seq = 0;
    srv.settings.clear();
    srv.register("A", g(9)); // seq 1 delivered live after our seq 2
    const got = await h.take(2);
    expect(got.map(brief)).toEqual([
      [1, "A", "INITIAL"],
      [1, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect(h.logs.some((l) => l.includes("delivered seq 1 (source restarted?)"))).toBe(true);
  });

  it("stop() ends the iteration promptly and closes the source, even while waiting", async () => {
    const srv = new FakeServer();
    srv.register("A", g(1));
    const h = harness(() => srv.connect());
    await h.take(2);
    const it = h.producer[Symbol.asyncIterator];
    expect(it).toBeDefined();
    const t0 = performance.now();
    await withTimeout(h.producer.stop(), 1000, "stop");
    expect(performance.now() - t0).toBeLessThan(200);
    expect(srv.closes).toBe(srv.connects);
    expect(srv.subs.size).toBe(0);
    expect(await h.take(1)).toEqual([]);
    expect(h.producer.status.state).toBe("stopped");
  });

  it("stop() while the source factory hangs closes the source once it arrives", async () => {
    const srv = new FakeServer();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = harness(async () => {
      await gate;
      return srv.connect();
    });
    void h.take(1).catch(() => {});
    await new Promise((r) => setTimeout(r, 10));
    await withTimeout(h.producer.stop(), 1000, "stop");
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(srv.closes).toBe(srv.connects);
  });

  it("gives up after maxAttempts and the iteration throws", async () => {
    const h = harness(
      async () => {
        throw new Error("nope");
      },
      { reconnect: { initialDelayMs: 1, maxAttempts: 3, jitter: 0 } },
    );
    const err = await h.take(1).catch((e) => e);
    expect(err).toBeInstanceOf(ProducerGaveUpError);
    expect(String(err.message)).toMatch(/gave up after 3 attempts: nope/);
  });

  it("back-pressure: a slow consumer stops the producer reading, nothing is lost", async () => {
    const srv = new FakeServer();
    srv.register("A", g(0));
    const h = harness(() => srv.connect(), { maxBufferedEvents: 4 });
    await h.take(2);
    for (let k = 1; k <= 50; k++) srv.update("A", g(k));
    await new Promise((r) => setTimeout(r, 20));
    const got = await h.take(50);
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
  });
});

describe("backoff", () => {
  it("grows exponentially, is bounded and jittered", () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 }))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(0, { initialDelayMs: 100, jitter: 0.5 }, () => 0)).toBe(50);
    expect(backoffDelay(0, { initialDelayMs: 100, jitter: 0.5 }, () => 0.999999)).toBe(150);
    expect(backoffDelay(20, { initialDelayMs: 100, maxDelayMs: 1000, jitter: 0.5 }, () => 0.999999)).toBe(1000);
  });
});
