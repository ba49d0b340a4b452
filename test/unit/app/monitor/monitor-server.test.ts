/**
 * The monitor's model and server without a browser: what the page is sent (snapshot, changes with
 * old → new per setting, status, durability), in order, and what the server refuses.
 * The page itself is tested in a real browser in test/browser/monitor-page.test.ts.
 */
import { type IncomingMessage, get, request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_VALUE_CHARS, MonitorModel } from "../../../../src/app/monitor/monitor-model.js";
import { MonitorServer } from "../../../../src/app/monitor/monitor-server.js";
import type { ObservableRecording, RecordingObserver, RecordingStatus } from "../../../../src/app/record/recording-observer.js";
import { type PipelineSettingsEvent, makeSentinel } from "../../../../src/events/event.js";
import { type JsonValue, jsonObject } from "../../../../src/events/json.js";

const ev = (seq: number, t: number, addr: string, type: "INITIAL" | "UPDATED", settings: Record<string, JsonValue>): PipelineSettingsEvent => ({
  seq,
  timestamp: t,
  component_address: addr,
  event_type: type,
  repr_value: "",
  structured_value: jsonObject(settings),
  source_session_id: "s",
  table_name: "settings_annotations",
});

class FakeRecording implements ObservableRecording {
  readonly observers = new Set<RecordingObserver>();
  latest: PipelineSettingsEvent[] = [];
  statusCalls = 0;
  /** While set, status() waits for it (like a slow stat of the segments). */
  gate: Promise<void> | undefined;
  observe(o: RecordingObserver): () => void {
    this.observers.add(o);
    o.current?.(this.latest);
    return () => this.observers.delete(o);
  }
  async status(): Promise<RecordingStatus> {
    this.statusCalls++;
    await this.gate;
    return {
      state: "recording",
      out: "/data/r.nwb",
      source: "embedded hub ws://127.0.0.1:1",
      fileTime: 12.5,
      referenceTime: "2026-01-01T00:00:00.000Z",
      events: 3,
      rejected: 0,
      backlog: { events: 0, bytes: 0 },
      segments: [{ path: "/data/r.nwb", index: 0, rows: 3, bytes: 1234 }],
      streams: [],
    };
  }
  accept(e: PipelineSettingsEvent): void {
    for (const o of this.observers) o.accepted?.(e);
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
});

async function serve(rec: FakeRecording): Promise<MonitorServer> {
  const m = await MonitorServer.listen({ port: 0, statusIntervalMs: 50 });
  cleanup.push(() => m.close());
  m.watch(rec);
  return m;
}

function fetchText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: IncomingMessage["headers"] }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    })
      .on("error", reject)
      .end();
  });
}

/** Parsed JSON of the page protocol; the assertions check its shape. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Data = any;

/** Server-Sent Events of /events, parsed as they come. */
function sse(url: string): { events: { event: string; data: Data }[]; next: (event: string, n?: number) => Promise<Data>; close: () => void } {
  const events: { event: string; data: Data }[] = [];
  const waiters: (() => void)[] = [];
  let buf = "";
  const req = get(`${url}events`, (res) => {
    res.setEncoding("utf8");
    res.on("data", (c: string) => {
      buf += c;
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
      for (const w of waiters.splice(0)) w();
    });
  });
  req.on("error", () => {});
  const next = async (event: string, n = 1): Promise<Data> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = events.filter((e) => e.event === event);
      if (found.length >= n) return found[n - 1]!.data;
      if (Date.now() > deadline) throw new Error(`no ${n}th ${event} event; got ${events.map((e) => e.event).join(",")}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { events, next, close: () => req.destroy() };
}

describe("MonitorModel", () => {
  it("keeps the settings per component and says which settings changed, old → new", () => {
    const messages: unknown[] = [];
    const m = new MonitorModel((x) => messages.push(x));
    m.current([ev(1, 0, "F", "INITIAL", { cutoff: 30.0, order: 4n, kind: "butter", sub: jsonObject({ on: true }) })]);
    m.accepted(makeSentinel(1, 0));
    m.accepted(ev(2, 1.5, "F", "UPDATED", { cutoff: 45.5, order: 4n, kind: "butter" }));
    m.accepted(ev(3, 2, "G", "INITIAL", { gain: 2n ** 60n }));
    m.rejected(ev(4, 2.5, "G", "UPDATED", { gain: "x\u0000" }), "NUL in a string");
    const s = m.snapshot();
    expect(s.components).toEqual([
      {
        address: "F",
        session: "s",
        seq: 2,
        t: 1.5,
        settings: [
          ["cutoff", "45.5"],
          ["order", "4"],
          ["kind", '"butter"'],
        ],
      },
      { address: "G", session: "s", seq: 3, t: 2, settings: [["gain", "1152921504606846976"]] },
    ]);
    expect(s.feed.map((f) => [f.seq, f.component, f.changes, f.rejected])).toEqual([
      [
        2,
        "F",
        [
          { setting: "cutoff", old: "30.0", new: "45.5" },
          { setting: "sub.on", old: "true", new: null },
        ],
        undefined,
      ],
      [3, "G", [{ setting: "gain", old: null, new: "1152921504606846976" }], undefined],
      [4, "G", [{ setting: "gain", old: "1152921504606846976", new: '"x\\u0000"' }], "NUL in a string"],
    ]);
    expect(messages).toHaveLength(3); // the sentinel is not a change
    expect(messages[0]).toMatchObject({
      values: [
        ["cutoff", "45.5"],
        ["sub.on", null],
      ],
    }); // what the page applies
    expect(messages[2]).toMatchObject({ values: [] }); // a rejected event changes nothing on the page
  });

  it("sees a change past the cut of a long value, and lists at most 50 changed settings per feed entry", () => {
    const m = new MonitorModel();
    const long = (c: string) => `${"x".repeat(1000)}${c}`;
    m.accepted(ev(1, 0, "L", "INITIAL", { text: long("a") }));
    m.accepted(ev(2, 1, "L", "UPDATED", { text: long("b") }));
    const [first, second] = m.snapshot().feed;
    expect(second!.changes).toHaveLength(1);
    expect(second!.changes[0]!.new).toHaveLength(MAX_VALUE_CHARS);
    expect(second!.changes[0]!.new!.endsWith("…")).toBe(true);
    expect(first!.more).toBe(0);
    const wide = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`s${i}`, BigInt(i)]));
    m.accepted(ev(3, 2, "W", "INITIAL", wide));
    const entry = m.snapshot().feed.at(-1)!;
    expect([entry.changes.length, entry.more]).toEqual([50, 70]);
    expect(m.snapshot().components.find((c) => c.address === "W")!.settings).toHaveLength(120);
  });

  it("reports the worst latency of each durability step, recent and overall", () => {
    const m = new MonitorModel();
    m.durable({ where: "file", at: 10, events: 3, oldestSeconds: 0.6, newestSeconds: 0.1 });
    m.durable({ where: "file", at: 100, events: 1, oldestSeconds: 0.2, newestSeconds: 0.2 });
    m.durable({ where: "journal", at: 100, events: 4, oldestSeconds: 0.09, newestSeconds: 0.01 });
    const d = m.durabilityView();
    expect(d.file).toEqual({ events: 4, last: 0.2, maxRecent: 0.2, max: 0.6, recent: [[100, 0.2]] });
    expect(d.journal).toMatchObject({ events: 4, last: 0.09, max: 0.09 });
  });
});

describe("MonitorServer", () => {
  it("serves the page, then a snapshot and every change in order over /events", async () => {
    const rec = new FakeRecording();
    rec.latest = [ev(1, 0, "F", "INITIAL", { cutoff: 30.0 })];
    const m = await serve(rec);
    expect(m.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetchText(m.url);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.body).toContain('new EventSource("events")');

    // A change that arrives while the snapshot's status is being gathered is in the snapshot
    // (settings and feed), and is not sent again; the next one comes as a change.
    let release!: () => void;
    rec.gate = new Promise<void>((r) => (release = r));
    const s = sse(m.url);
    cleanup.push(async () => s.close());
    while (rec.statusCalls === 0) await new Promise((r) => setTimeout(r, 5));
    rec.accept(ev(2, 1, "F", "UPDATED", { cutoff: 45.5 }));
    release();
    const snap = await s.next("snapshot");
    expect(snap.status.segments).toEqual([{ path: "/data/r.nwb", index: 0, rows: 3, bytes: 1234 }]);
    expect(snap.components[0].settings).toEqual([["cutoff", "45.5"]]);
    expect(snap.feed.map((f: { seq: number }) => f.seq)).toEqual([2]);
    rec.accept(ev(3, 2, "F", "UPDATED", { cutoff: 60.0 }));
    const change = await s.next("change");
    expect(s.events.filter((e) => e.event === "change")).toHaveLength(1);
    expect(change.entry.changes).toEqual([{ setting: "cutoff", old: "45.5", new: "60.0" }]);
    expect(change.values).toEqual([["cutoff", "60.0"]]);
    const status = await s.next("status");
    expect(status.status.state).toBe("recording");
    expect(status.durability.file.events).toBe(0);

    const state = JSON.parse((await fetchText(`${m.url}state.json`)).body);
    expect(state.components[0].settings).toEqual([["cutoff", "60.0"]]);
  });

  it("answers only loopback host names (no DNS rebinding), GET only, 404 elsewhere; polls nothing without pages", async () => {
    const rec = new FakeRecording();
    const m = await serve(rec);
    expect((await fetchText(m.url, { host: "attacker.example:80" })).status).toBe(403);
    expect((await fetchText(m.url, { host: `localhost:${m.port}` })).status).toBe(200);
    expect((await fetchText(`${m.url}nope`)).status).toBe(404);
    const post = await new Promise<number>((resolve) => request(m.url, { method: "POST" }, (res) => resolve(res.statusCode!)).end());
    expect(post).toBe(405);
    const before = rec.statusCalls;
    await new Promise((r) => setTimeout(r, 200));
    expect(rec.statusCalls).toBe(before);
  });

  it("a page that connects before the recording is watched gets its snapshot once it is", async () => {
    const m = await MonitorServer.listen({ port: 0 });
    cleanup.push(() => m.close());
    const s = sse(m.url);
    cleanup.push(async () => s.close());
    await new Promise((r) => setTimeout(r, 50));
    const rec = new FakeRecording();
    rec.latest = [ev(1, 0, "F", "INITIAL", { cutoff: 30.0 })];
    m.watch(rec);
    expect((await s.next("snapshot")).components).toHaveLength(1);
  });

  it("a busy port fails at listen", async () => {
    const m = await MonitorServer.listen({ port: 0 });
    cleanup.push(() => m.close());
    await expect(MonitorServer.listen({ port: m.port })).rejects.toMatchObject({ code: "EADDRINUSE" });
  });
});
