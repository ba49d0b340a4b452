/**
 * Interop: our TypeScript client against a real ezmsg 3.9 GraphServer and pipeline
 * (test/interop/ezmsg_server.py, test/interop/ezmsg_pipeline.py), 127.0.0.1 only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isJsonObject, type JsonValue } from "../../src/events/json.js";
import { EzmsgConnectionError } from "../../src/ezmsg/errors.js";
import { GraphClient, type EzmsgSettingsSubscription } from "../../src/ezmsg/graph-client.js";
import type { SourceSettingsEvent } from "../../src/producer/source.js";
import { HAVE_PYTHON, PYTHON, PythonProcess, type JsonLine } from "./python-process.js";

const UPDATES = 6;

function field(line: JsonLine, name: string): JsonValue {
  if (!isJsonObject(line.value)) throw new Error(`not an object: ${line.text}`);
  return line.value.get(name)!;
}

/** Consume a subscription in the background, keeping every event and how it ended. */
function drain(sub: EzmsgSettingsSubscription): {
  events: SourceSettingsEvent[];
  ended: Promise<unknown>;
  until(seq: number, timeoutMs: number): Promise<void>;
} {
  const events: SourceSettingsEvent[] = [];
  const waiters = new Set<() => void>();
  const ended = (async () => {
    try {
      for await (const e of sub) {
        events.push(e);
        for (const w of waiters) w();
      }
      return null;
    } catch (err) {
      return err;
    } finally {
      for (const w of waiters) w();
    }
  })();
  return {
    events,
    ended,
    until(seq, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (events.some((e) => e.seq >= seq)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`subscription did not reach seq ${seq} within ${timeoutMs} ms (have ${events.map((e) => e.seq).join(",")}; ${sub.endReason})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

/** Resolve with the promise's outcome, or fail the test if it takes longer than `ms` (a hang). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} still pending after ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe("GraphClient against a real ezmsg 3.9 GraphServer", () => {
  let server: PythonProcess;
  let pipeline: PythonProcess | null = null;
  let source: GraphClient;
  let address: string;
  let early: ReturnType<typeof drain>;
  let earlySub: EzmsgSettingsSubscription;
  let started: JsonLine;
  let updates: JsonLine[];
  let lastSeq: number;

  beforeAll(async () => {
    // Without Python every test here fails (never skips): interop is part of CI.
    if (!HAVE_PYTHON) throw new Error(`No Python at ${PYTHON}: run \`npm run setup:python\` or set NWB_SETTINGS_PYTHON`);
    server = new PythonProcess("ezmsg_server.py", ["--host", "127.0.0.1", "--port", "0"]);
    const listening = await server.waitForEvent("listening", 20_000);
    address = `127.0.0.1:${String(field(listening, "port"))}`;
    expect(field(listening, "ezmsg_version")).toBe("3.9.0");
    source = await GraphClient.connect(address, { connectTimeoutMs: 3000, requestTimeoutMs: 5000 });
  }, 30_000);

  afterAll(async () => {
    await source?.close();
    pipeline?.killGroup();
    server?.killGroup();
    await Promise.all([pipeline?.exited, server?.exited]);
  }, 20_000);

  it("connects: version 3.9.0, empty settings, our own session has no components", async () => {
    expect(source.serverVersion).toBe("3.9.0");
    expect((await source.settingsSnapshot()).size).toBe(0);
    expect(await source.settingsEvents(0)).toEqual([]);
    expect(await source.sessionComponents(source.sessionId!)).toEqual([]);
    expect(await source.sessionComponents("00000000-0000-0000-0000-000000000000")).toBeNull();
    earlySub = await source.subscribe(0);
    early = drain(earlySub);
  });

  it("sees exactly the settings the pipeline reports: history, snapshot, components", async () => {
    pipeline = new PythonProcess("ezmsg_pipeline.py", ["--graph-address", address, "--updates", String(UPDATES), "--interval", "0.1", "--mode", "mixed"]);
    started = await pipeline.waitForEvent("started", 30_000);
    const done = await pipeline.waitForEvent("done", 30_000);
    expect(pipeline.lines.filter((l) => field(l, "event") === "update_lost")).toEqual([]);
    updates = pipeline.lines.filter((l) => field(l, "event") === "update");
    expect(updates).toHaveLength(UPDATES);
    lastSeq = Number(field(done, "last_seq"));

    const initial = field(started, "components") as Map<string, JsonValue>;
    const history = await source.settingsEvents(0);
    const initialEvents = history.filter((e) => e.event_type === "INITIAL_SETTINGS");
    expect(initialEvents.map((e) => e.component_address).sort()).toEqual([...initial.keys()].sort());
    for (const e of initialEvents) {
      expect(e.value.structured_value).toEqual(initial.get(e.component_address));
      expect(e.value.repr_value).toEqual(initial.get(e.component_address));
      expect(e.source_session_id).toBe(field(started, "session_id"));
    }
    const updated = history.filter((e) => e.event_type === "SETTINGS_UPDATED");
    expect(updated.map((e) => ({ seq: e.seq, component: e.component_address, value: e.value.structured_value }))).toEqual(
      updates.map((u) => ({ seq: Number(field(u, "seq")), component: field(u, "component"), value: field(u, "value") })),
    );
    // Types survive: 2.0 is a float, 2**60 an exact int, taps a list of floats, filter a nested dict.
    const firstGain = updated[0]!.value.structured_value as Map<string, JsonValue>;
    expect(firstGain.get("gain")).toBe(2);
    expect(typeof firstGain.get("gain")).toBe("number");
    expect(firstGain.get("offset")).toBe(2n ** 60n);
    expect(firstGain.get("taps")).toEqual([0.1, 0.5, 1.0]);
    expect(firstGain.get("enabled")).toBe(false);
    expect((firstGain.get("filter") as Map<string, JsonValue>).get("order")).toBe(2n);
    expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i + 1));
    expect(history.at(-1)!.seq).toBe(lastSeq);
    for (const e of history) expect(e.timestamp).toBeGreaterThan(1.7e9);

    const snapshot = await source.settingsSnapshot();
    expect([...snapshot.keys()]).toEqual(["SYS", "SYS/GAIN", "SYS/TICK"]);
    for (const [addr, value] of snapshot) {
      const last = updates.filter((u) => field(u, "component") === addr).at(-1);
      expect(value.structured_value).toEqual(last ? field(last, "value") : initial.get(addr));
    }

    const comps = await source.sessionComponents(field(started, "session_id") as string);
    expect(comps?.sort()).toEqual(["SYS", "SYS/GAIN", "SYS/TICK"]);
  }, 60_000);

  it("the live subscription opened before the pipeline saw the same events as the history", async () => {
    await early.until(lastSeq, 10_000);
    expect(early.events).toEqual((await source.settingsEvents(0)).filter((e) => e.seq <= lastSeq));
    expect(earlySub.endReason).toBe("open");
  }, 20_000);

  it("a subscription after seq k replays k+1.. with no gap and no duplicate", async () => {
    const k = Number(field(updates[2]!, "seq"));
    const sub = await source.subscribe(k);
    const late = drain(sub);
    await late.until(lastSeq, 10_000);
    expect(late.events.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq - k }, (_, i) => k + 1 + i));
    await sub.close();
    expect(await late.ended).toBeNull();
    expect(sub.endReason).toBe("closed");
  }, 20_000);

  it("after the pipeline stops, its settings leave the snapshot silently", async () => {
    const exit = await within(pipeline!.stop(15_000), 20_000, "pipeline shutdown");
    expect(exit.code).toBe(0);
    expect(pipeline!.lines.some((l) => field(l, "event") === "stopped")).toBe(true);
    const deadline = Date.now() + 5000;
    while ((await source.settingsSnapshot()).size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await source.settingsSnapshot()).size).toBe(0);
    expect(await source.sessionComponents(field(started, "session_id") as string)).toBeNull();
  }, 30_000);

  it("killing the server: a pending request fails, the subscription ends normally, later requests fail fast", async () => {
    // Freeze the server so a request is surely in flight, then kill it.
    server.signal("SIGSTOP");
    const pending = source.settingsEvents(0);
    pending.catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    server.killGroup();
    await within(server.exited, 5000, "server exit");
    const err = await within(
      pending.then(
        () => null,
        (e: unknown) => e,
      ),
      3000,
      "the pending request",
    );
    expect(err).toBeInstanceOf(EzmsgConnectionError);
    // Our unread request makes the kernel reset the connection rather than close it.
    expect((err as Error).message).toMatch(/^SESSION_SETTINGS_EVENTS\(after_seq=0\) on session .*: connection (failed \(ECONNRESET\)|closed by the peer)/);
    expect(await within(early.ended, 3000, "the subscription")).toBeNull();
    expect(earlySub.endReason).toBe("eof");
    const after = await within(
      source.settingsSnapshot().then(
        () => null,
        (e: unknown) => e,
      ),
      3000,
      "a request after the kill",
    );
    expect(after).toBeInstanceOf(EzmsgConnectionError);
    expect((after as Error).message).toMatch(/ECONNREFUSED/);
  }, 20_000);
});

describe.runIf(HAVE_PYTHON)("GraphClient when the GraphServer shuts down cleanly", () => {
  let server: PythonProcess;
  afterAll(async () => {
    server?.killGroup();
    await server?.exited;
  });

  it("SIGTERM to the server: the subscription ends normally (eof) and requests fail instead of hanging", async () => {
    server = new PythonProcess("ezmsg_server.py", []);
    const port = String(field(await server.waitForEvent("listening", 20_000), "port"));
    const source = await GraphClient.connect(`127.0.0.1:${port}`, { requestTimeoutMs: 5000 });
    try {
      const sub = await source.subscribe(0);
      const d = drain(sub);
      expect((await source.settingsSnapshot()).size).toBe(0);
      const exit = await within(server.stop(10_000), 15_000, "server shutdown");
      expect(exit.code).toBe(0);
      expect(await within(d.ended, 3000, "the subscription")).toBeNull();
      expect(sub.endReason).toBe("eof");
      const err = await within(
        source.settingsSnapshot().then(
          () => null,
          (e: unknown) => e,
        ),
        3000,
        "a request after shutdown",
      );
      expect(err).toBeInstanceOf(EzmsgConnectionError);
    } finally {
      await source.close();
    }
  }, 30_000);
});
