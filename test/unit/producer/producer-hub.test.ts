/** The producer against the real hub over sockets: startup, live, hub restart on the same port, slow-reader drop. */
import { afterEach, describe, expect, it } from "vitest";
import { INIT_FINAL_COMPONENT_ADDRESS, type PipelineSettingsEvent } from "../../../src/events/event.js";
import { jsonObject } from "../../../src/events/json.js";
import { HubPublisher } from "../../../src/producer/hub/hub-publisher.js";
import { HubServer } from "../../../src/producer/hub/hub-server.js";
import { SettingsProducer } from "../../../src/producer/producer.js";
import { sourceFactoryFromUrl } from "../../../src/producer/source-url.js";

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, j) => (t = setTimeout(() => j(new Error(`timed out after ${ms} ms: ${what()}`)), ms))),
  ]);
}

async function hub(port = 0, opts = {}): Promise<HubServer> {
  const h = await HubServer.start({ port, ...opts });
  cleanup.push(() => h.close());
  return h;
}

function consume(producer: SettingsProducer) {
  const it = producer[Symbol.asyncIterator]();
  return async (n: number, ms = 5000) => {
    const out: PipelineSettingsEvent[] = [];
    await withTimeout(
      (async () => {
        while (out.length < n) {
          const r = await it.next();
          if (r.done) break;
          out.push(r.value);
        }
      })(),
      ms,
      () => `taking ${n} events, got ${out.map((e) => e.seq).join(",")}`,
    );
    return out;
  };
}

const brief = (e: PipelineSettingsEvent) => [e.seq, e.component_address, e.event_type];

describe("producer over the hub", () => {
  it("startup, live, then a hub restart on the same port is detected and resynced", async () => {
    const h1 = await hub();
    const port = h1.port;
    h1.register("SYS/B", jsonObject({ b: 1n }), { session: "s" });
    h1.register("SYS/A", jsonObject({ a: 1.5 }), { session: "s" });
    const logs: string[] = [];
    const producer = new SettingsProducer(sourceFactoryFromUrl(h1.url), {
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    cleanup.push(() => producer.stop());
    const take = consume(producer);
    expect((await take(3)).map(brief)).toEqual([
      [2, "SYS/A", "INITIAL"],
      [1, "SYS/B", "INITIAL"],
      [2, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    const pub = await HubPublisher.connect(h1.url, { session: "p" });
    cleanup.push(() => pub.close());
    await pub.register("P/X", jsonObject({ x: 0n }));
    await pub.update("P/X", jsonObject({ x: 1n }));
    h1.update("SYS/A", jsonObject({ a: 2.5 }));
    const live = await take(3);
    expect(live.map(brief)).toEqual([
      [3, "P/X", "INITIAL"],
      [4, "P/X", "UPDATED"],
      [5, "SYS/A", "UPDATED"],
    ]);
    expect(live[2]!.structured_value).toEqual(jsonObject({ a: 2.5 }));

    // restart: a new hub on the same port, SYS/A unchanged, SYS/B changed, P/X gone
    await h1.close();
    const h2 = await hub(port);
    h2.register("SYS/A", jsonObject({ a: 2.5 }), { session: "s2" });
    h2.register("SYS/B", jsonObject({ b: 2n }), { session: "s2" });
    const resynced = await take(2);
    expect(resynced.map(brief)).toEqual([
      [2, "SYS/B", "INITIAL"],
      [2, INIT_FINAL_COMPONENT_ADDRESS, "INITIAL"],
    ]);
    expect(logs.some((l) => l.includes("restart detected"))).toBe(true);
    h2.update("SYS/A", jsonObject({ a: 3.5 }));
    expect((await take(1)).map(brief)).toEqual([[3, "SYS/A", "UPDATED"]]);
  });

  it("a producer dropped by the hub as a slow reader resumes from history without loss", async () => {
    const h = await hub(0, { historyLimit: 10_000, maxReaderLagEvents: 20, readerHighWaterBytes: 4096 });
    h.register("A", jsonObject({ v: 0n }));
    const logs: string[] = [];
    const producer = new SettingsProducer(sourceFactoryFromUrl(h.url, { hub: { maxQueuedEvents: 4 } }), {
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(m) },
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      maxBufferedEvents: 4,
    });
    cleanup.push(() => producer.stop());
    const take = consume(producer);
    await take(2);
    await withTimeout(
      (async () => {
        while (producer.status.state !== "live") await new Promise((r) => setTimeout(r, 2));
      })(),
      2000,
      () => "producer live",
    );
    // the consumer stalls while 300 events of 100 kB arrive: the hub drops the reader (lag > 20)
    for (let k = 1; k <= 300; k++) h.update("A", jsonObject({ v: BigInt(k), pad: "p".repeat(100_000) }));
    await new Promise((r) => setTimeout(r, 300));
    expect(h.stats().droppedReaders).toBeGreaterThanOrEqual(1);
    const got = await take(300, 10_000);
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 2));
    expect(logs.some((l) => l.includes("too slow"))).toBe(true);
    expect(logs.some((l) => /resumed after seq \d+/.test(l))).toBe(true);
  });
});
