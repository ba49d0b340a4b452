/**
 * Sample streams through the hub (docs/protocol.md, "Sample streams"), over real sockets, with our
 * Node clients: declarations and frames relayed in order, a late reader told of live streams, an
 * end when the publisher goes, coded errors for bad frames and names held by another connection,
 * and backpressure: a reader that stops taking frames holds the publisher's sends — nothing lost.
 */
import { describe, expect, it } from "vitest";
import { HubPublisher } from "../../../../src/producer/hub/hub-publisher.js";
import { HubStreamReader } from "../../../../src/producer/hub/hub-stream-reader.js";
import type { StreamDeclaration, StreamFrame } from "../../../../src/producer/hub/stream-protocol.js";
import { encodeFrame } from "../../../../src/producer/hub/stream-protocol.js";
import { startHub, track, withTimeout } from "./helpers.js";

interface Seen {
  declared: StreamDeclaration[];
  frames: { name: string; rows: number; t0: number; samples: number[]; timestamps: number[] | null }[];
  ended: string[];
  warnings: string[];
}

function recorder(hold?: () => Promise<void> | undefined): { seen: Seen; handler: Parameters<typeof HubStreamReader.connect>[1] } {
  const seen: Seen = { declared: [], frames: [], ended: [], warnings: [] };
  return {
    seen,
    handler: {
      onDeclare: (_h, d) => void seen.declared.push(d),
      onFrame: (_h, d, f: StreamFrame) => {
        const view = d.dtype === "int16" ? new Int16Array(new Uint8Array(f.samples).buffer) : new Float32Array(new Uint8Array(f.samples).buffer);
        seen.frames.push({ name: d.name, rows: f.rows, t0: f.t0, samples: [...view], timestamps: f.timestamps ? [...f.timestamps] : null });
        return hold?.();
      },
      onEnd: (_h, d, reason) => void seen.ended.push(`${d.name}: ${reason}`),
      onWarning: (m) => void seen.warnings.push(m),
    },
  };
}

/** A {@link recorder} that holds on to its frames (takes nothing more) until `release()`. */
function heldRecorder(): ReturnType<typeof recorder> & { release: () => void } {
  let open: () => void = () => {};
  let holding = true;
  const gate = new Promise<void>((r) => (open = r));
  const rec = recorder(() => (holding ? gate : undefined));
  return {
    ...rec,
    release: () => {
      holding = false;
      open();
    },
  };
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await new Promise((r) => setTimeout(r, 5));
    })(),
    ms,
    what,
  );
}

describe("hub sample streams", () => {
  it("relays declarations and frames in order; a late reader learns the live streams; the end follows the publisher", async () => {
    const hub = await startHub();
    const pub = track(await HubPublisher.connect(hub.url));
    const f = await pub.declareStream({ stream: "lfp", dtype: "float32", channels: ["a", "b"], rate: 1000, unit: "uV", description: "test" });
    const early = recorder();
    const r1 = track(await HubStreamReader.connect(hub.url, early.handler));
    await until("declaration", () => early.seen.declared.length === 1);
    expect(early.seen.declared[0]).toMatchObject({
      name: "lfp",
      dtype: "float32",
      channels: 2,
      labels: ["a", "b"],
      rate: 1000,
      unit: "uV",
      description: "test",
    });
    const s = await pub.declareStream({ stream: "events", dtype: "int16", channels: 1 });
    await f.send(new Float32Array([1, 2, 3, 4]), { t0: 100.5 });
    await s.send(new Int16Array([7, -8]), { timestamps: [1.25, 1.5] });
    await f.send(new Float32Array([5, 6]));
    await until("3 frames", () => early.seen.frames.length === 3);
    expect(early.seen.frames[0]).toMatchObject({ name: "lfp", rows: 2, t0: 100.5, samples: [1, 2, 3, 4], timestamps: null });
    expect(early.seen.frames[1]).toMatchObject({ name: "events", rows: 2, t0: 1.25, samples: [7, -8], timestamps: [1.25, 1.5] });
    expect(early.seen.frames[2]!.rows).toBe(1);
    expect(Number.isNaN(early.seen.frames[2]!.t0)).toBe(true);
    const late = recorder();
    track(await HubStreamReader.connect(hub.url, late.handler));
    await until("both live streams told to the late reader", () => late.seen.declared.length === 2);
    expect(late.seen.declared.map((d) => d.name).sort()).toEqual(["events", "lfp"]);
    await s.end();
    await until("end", () => early.seen.ended.length === 1);
    expect(early.seen.ended).toEqual(["events: ended by its publisher"]);
    await pub.close();
    await until("end on disconnect", () => early.seen.ended.length === 2 && late.seen.ended.length === 2);
    expect(early.seen.ended[1]).toBe("lfp: its publisher disconnected");
    expect(hub.stats()).toMatchObject({ streams: 0, framesRelayed: 3, framesUnread: 0 });
    await r1.close();
  });

  it("refuses bad declarations, a name held by another connection, bad frames (coded errors, connection kept)", async () => {
    const hub = await startHub();
    const a = track(await HubPublisher.connect(hub.url));
    const b = track(await HubPublisher.connect(hub.url));
    await expect(a.declareStream({ stream: "x", dtype: "complex64" as never, channels: 2, rate: 10 })).rejects.toMatchObject({ code: "bad_stream" });
    await expect(a.declareStream({ stream: "x", dtype: "int16", channels: 0, rate: 10 })).rejects.toThrow(/"channels"/);
    await expect(a.declareStream({ stream: "x", dtype: "int16", channels: 2, rate: -1 })).rejects.toThrow(/"rate"/);
    const x = await a.declareStream({ stream: "x", dtype: "int16", channels: 2, rate: 10 });
    await expect(b.declareStream({ stream: "x", dtype: "int16", channels: 2, rate: 10 })).rejects.toMatchObject({ code: "conflict" });
    // a frame whose length does not match the declaration: the hub says so; the next send throws it
    const conn = (a as unknown as { conn: { sendBinary(f: Uint8Array): Promise<void> } }).conn;
    await conn.sendBinary(encodeFrame(x.handle, 3, new Uint8Array(10), { t0: 0 }));
    await until("frame error", () => (x as unknown as { error: unknown }).error !== null);
    await expect(x.send(new Int16Array([1, 2]))).rejects.toMatchObject({ code: "bad_frame", message: expect.stringMatching(/need 28 bytes, got 26/) });
    // frames of a stream another connection declared are refused too
    await (b as unknown as { conn: { sendBinary(f: Uint8Array): Promise<void> } }).conn.sendBinary(encodeFrame(x.handle, 1, new Uint8Array(4), { t0: 0 }));
    // the connections still work
    expect(await a.register("C/A", new Map([["v", 1n]]))).toBeGreaterThan(0);
    expect(await b.register("C/B", new Map([["v", 1n]]))).toBeGreaterThan(0);
    // a stream with no rate needs one timestamp per sample (checked before sending)
    const t = await a.declareStream({ stream: "t", dtype: "float64", channels: 1 });
    await expect(t.send(new Float64Array([1, 2]))).rejects.toMatchObject({ code: "bad_frame" });
    expect(hub.stats().framesRelayed + hub.stats().framesUnread).toBe(0);
  });

  it("a reader that stops taking frames holds the publisher; released, every frame arrives in order", async () => {
    const hub = await startHub({ streamHighWaterBytes: 256 * 1024 });
    const pub = track(await HubPublisher.connect(hub.url));
    const st = await pub.declareStream({ stream: "fast", dtype: "float32", channels: 64, rate: 30000 });
    const rec = heldRecorder();
    track(await HubStreamReader.connect(hub.url, rec.handler));
    await until("declaration", () => rec.seen.declared.length === 1);
    const frame = new Float32Array(300 * 64); // 76.8 kB
    const N = 600; // 46 MB: more than every socket buffer between publisher and reader can hold
    let sent = 0;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        frame[0] = i;
        await st.send(frame);
        sent++;
      }
    })();
    // the reader holds its first frame: the hub stops reading the publisher once the reader's socket
    // is full; once the kernel's buffers are full too, the publisher's sends make no progress
    await until("publisher held", () => hub.stats().streamPublishersHeld > 0, 10000);
    await new Promise((r) => setTimeout(r, 500));
    const stalledAt = sent;
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toBe(stalledAt);
    expect(sent).toBeLessThan(N);
    rec.release();
    await sending;
    await until("all frames", () => rec.seen.frames.length === N, 30000);
    expect(rec.seen.frames.map((f) => f.samples[0])).toEqual(Array.from({ length: N }, (_, i) => i));
  }, 60000);

  it("a stream reader holding more than maxBufferedBytes of large frames is not dropped when a declaration follows", async () => {
    const hub = await startHub({ maxBufferedBytes: 4 * 1024 * 1024 });
    const pub = track(await HubPublisher.connect(hub.url));
    const st = await pub.declareStream({ stream: "big", dtype: "float32", channels: 256, rate: 30000 });
    const rec = heldRecorder();
    track(await HubStreamReader.connect(hub.url, rec.handler));
    await until("declaration", () => rec.seen.declared.length === 1);
    const frame = new Float32Array(10_000 * 256); // 10.24 MB, more than maxBufferedBytes
    await st.send(frame);
    await st.send(frame);
    await pub.declareStream({ stream: "next", dtype: "int16", channels: 1, rate: 10 });
    await new Promise((r) => setTimeout(r, 200));
    rec.release();
    await until("both frames and the second declaration", () => rec.seen.frames.length === 2 && rec.seen.declared.length === 2, 20000);
    expect(hub.stats().connections).toBe(2);
  }, 30000);
});
