/**
 * Interop: our native data-plane subscriber against a real ezmsg GraphServer (3.9.0 and 3.10.0b5) and a real
 * pipeline publishing AxisArrays (test/interop/ezmsg_axisarray_pipeline.py): every message the
 * pipeline logged it sent arrives, decodes to the same bytes, time axis and labels, is acked (more
 * messages than the publisher's 32 buffers), and a pipeline restart shows up as a new publisher
 * whose msg_id starts again at 0; a stop as the end of each publisher's stream.
 *
 * Under 3.10.0b5 the channel protocol adds axis elision (a channel that sends ELIDE_OK gets the
 * channel-label CoordinateAxis once, then a 16-byte reference): our subscriber does not claim it,
 * so every message must carry its labels in full (checked on each message below).
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isJsonObject, type JsonValue } from "../../src/events/json.js";
import { parseGraphAddress } from "../../src/ezmsg/address.js";
import { type CoordinateAxis, type LinearAxis, decodeAxisArray, type AxisArray } from "../../src/ezmsg/axisarray.js";
import { parseMarshalPayload } from "../../src/ezmsg/message-marshal.js";
import { EzmsgTopicSubscriber, type PublisherEvent, type TopicFrame } from "../../src/ezmsg/topic-subscriber.js";
import { EZMSG_PYTHONS, PythonProcess, type JsonLine } from "./python-process.js";

const MESSAGES = 40; // more than num_buffers (32): without acks the publisher would stall at 32

function field(line: JsonLine, name: string): JsonValue {
  if (!isJsonObject(line.value)) throw new Error(`not an object: ${line.text}`);
  return line.value.get(name)!;
}

interface Received {
  frame: TopicFrame;
  msg: AxisArray;
}

async function until(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(EZMSG_PYTHONS)("EzmsgTopicSubscriber against a real ezmsg $version pipeline", ({ version, python }) => {
  let server: PythonProcess;
  let pipeline: PythonProcess | null = null;
  let address: string;
  const subs: EzmsgTopicSubscriber[] = [];
  const received = new Map<string, Received[]>([
    ["SIG", []],
    ["I16", []],
  ]);
  const events: PublisherEvent[] = [];

  beforeAll(async () => {
    server = new PythonProcess("ezmsg_server.py", ["--host", "127.0.0.1", "--port", "0"], {}, python);
    const listening = await server.waitForEvent("listening", 20_000);
    expect(field(listening, "ezmsg_version")).toBe(version);
    address = `127.0.0.1:${String(field(listening, "port"))}`;
  }, 30_000);

  afterAll(async () => {
    await Promise.all(subs.map((s) => s.close()));
    pipeline?.killGroup();
    server?.killGroup();
    await Promise.all([pipeline?.exited, server?.exited]);
  }, 20_000);

  it("subscribes before any publisher exists", async () => {
    for (const unit of ["SIG", "I16"]) {
      subs.push(
        await EzmsgTopicSubscriber.subscribe(parseGraphAddress(address), `STREAMS/${unit}/OUTPUT_SIGNAL`, {
          onFrame: (frame) => {
            const { buffers } = parseMarshalPayload(frame.payload, frame.msgId);
            received.get(unit)!.push({ frame, msg: decodeAxisArray(buffers[0]!, buffers.slice(1)) });
          },
          onPublisher: (e) => events.push(e),
        }),
      );
    }
    expect(subs.map((s) => s.publisherIds)).toEqual([[], []]);
  });

  async function runPipeline(run: string): Promise<JsonLine[]> {
    const before = new Map([...received].map(([k, v]) => [k, v.length]));
    pipeline = new PythonProcess(
      "ezmsg_axisarray_pipeline.py",
      ["--graph-address", address, "--messages", String(MESSAGES), "--interval", "0.01", "--start-delay", "1.0", "--run", run],
      {},
      python,
    );
    await pipeline.waitForEvent("started", 30_000);
    await until(
      () => pipeline!.lines.filter((l) => field(l, "event") === "done").length === 2,
      30_000,
      () => `pipeline ${run} did not finish:\n${pipeline!.stderr}`,
    );
    await until(
      () => [...received].every(([k, v]) => v.length - before.get(k)! >= MESSAGES),
      10_000,
      () => `received ${[...received].map(([k, v]) => `${k}:${v.length - before.get(k)!}`).join(" ")} of ${MESSAGES}`,
    );
    return pipeline.lines.filter((l) => field(l, "event") === "sent");
  }

  function check(sent: JsonLine[], run: string): void {
    for (const unit of ["SIG", "I16"]) {
      const mine = received.get(unit)!.filter((r) => r.frame.publisherId === received.get(unit)!.at(-1)!.frame.publisherId);
      const logged = sent.filter((l) => field(l, "unit") === unit);
      expect(mine.length, `${unit} ${run}`).toBe(MESSAGES);
      expect(logged.length).toBe(MESSAGES);
      expect(mine.map((r) => r.frame.msgId)).toEqual(Array.from({ length: MESSAGES }, (_, i) => BigInt(i)));
      for (let k = 0; k < MESSAGES; k++) {
        const { msg } = mine[k]!;
        const log = logged[k]!;
        expect(msg.attrs.get("seq")).toBe(BigInt(k));
        expect(msg.data.dtype.str).toBe(field(log, "dtype"));
        expect(msg.data.shape).toEqual((field(log, "shape") as bigint[]).map(Number));
        const c = msg.data.cOrder() as Float32Array | Int16Array;
        expect(
          createHash("sha256")
            .update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength))
            .digest("hex"),
        ).toBe(field(log, "sha256"));
        const t = msg.axes.get("time") as LinearAxis;
        expect(t.offset).toBe(field(log, "offset"));
        expect(t.gain).toBe(field(log, "gain"));
        const labels = field(log, "labels");
        if (labels !== null) expect((msg.axes.get("ch") as CoordinateAxis).data.cOrder()).toEqual(labels);
        else expect(msg.axes.has("ch")).toBe(false);
      }
    }
  }

  it("receives, decodes and acks every message of a pipeline run", async () => {
    const sent = await runPipeline("run1");
    check(sent, "run1");
    expect(
      events
        .filter((e) => e.kind === "connected")
        .map((e) => (e as { publisherTopic: string }).publisherTopic)
        .sort(),
    ).toEqual(["STREAMS/I16/OUTPUT_SIGNAL", "STREAMS/SIG/OUTPUT_SIGNAL"]);
  }, 60_000);

  it("a stopped pipeline ends each publisher's stream; a restarted one is a new publisher from msg_id 0", async () => {
    const firstIds = subs.map((s) => s.publisherIds[0]);
    expect(firstIds.every((id) => id !== undefined)).toBe(true);
    expect(events.filter((e) => e.kind !== "connected")).toEqual([]);
    await pipeline!.stop();
    await until(
      () => events.filter((e) => e.kind === "ended").length === 2,
      10_000,
      () => JSON.stringify(events.map((e) => e.kind)),
    );
    expect(events.filter((e) => e.kind === "failed")).toEqual([]);
    expect(subs.map((s) => s.publisherIds)).toEqual([[], []]);
    const sent = await runPipeline("run2");
    check(sent, "run2");
    const secondIds = subs.map((s) => s.publisherIds[0]);
    expect(secondIds.every((id) => id !== undefined)).toBe(true);
    expect(
      secondIds.filter((id, i) => id === firstIds[i]),
      JSON.stringify({ firstIds, secondIds }),
    ).toEqual([]);
    await pipeline!.stop();
    await until(
      () => events.filter((e) => e.kind === "ended").length === 4,
      10_000,
      () => JSON.stringify(events.map((e) => e.kind)),
    );
  }, 90_000);

  it("a frame not yet in our hands is not acked: a held frame stalls the publisher at its 32 buffers, releasing it resumes", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let got = 0;
    const held = await EzmsgTopicSubscriber.subscribe(parseGraphAddress(address), "STREAMS/I16/OUTPUT_SIGNAL", {
      onFrame: async () => {
        got++;
        await gate;
      },
    });
    subs.push(held);
    pipeline = new PythonProcess(
      "ezmsg_axisarray_pipeline.py",
      ["--graph-address", address, "--messages", String(MESSAGES), "--interval", "0.005", "--start-delay", "1.0", "--run", "run3"],
      {},
      python,
    );
    await pipeline.waitForEvent("started", 30_000);
    const i16Sent = (): number => pipeline!.lines.filter((l) => field(l, "event") === "sent" && field(l, "unit") === "I16").length;
    await until(
      () => i16Sent() >= 32,
      20_000,
      () => `I16 sent ${i16Sent()}`,
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(i16Sent()).toBe(32); // message 32 waits for slot 0, which our first unacked frame holds
    expect(got).toBe(1);
    release();
    await until(
      () => got === MESSAGES,
      20_000,
      () => `got ${got}`,
    );
    // The publisher logs "sent" after its publish returns, which can be after we received the frame.
    await until(
      () => i16Sent() === MESSAGES,
      10_000,
      () => `I16 sent ${i16Sent()}`,
    );
    expect(i16Sent()).toBe(MESSAGES);
    await pipeline.stop();
  }, 60_000);
});
