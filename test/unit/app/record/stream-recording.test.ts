/**
 * The bounded buffer of `record --streams` (StreamRecording): frames captured from a real ezmsg
 * 3.9 pipeline fed straight to its frame handler. `drop` acknowledges and counts a frame that does
 * not fit (summary + series comments, and the gap starts a new series); `block` holds the
 * acknowledgement until the writer made room, and loses nothing.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, describe, expect, it } from "vitest";
import { StreamRecording, type OverflowPolicy } from "../../../../src/app/record/stream-recording.js";
import { parseTxTcpFrame } from "../../../../src/ezmsg/message-marshal.js";
import type { TopicFrame } from "../../../../src/ezmsg/topic-subscriber.js";
import { SegmentedOutput } from "../../../../src/output/segmented-output.js";
import { FIXTURES } from "../../ezmsg/helpers.js";

const dir = mkdtempSync(join(tmpdir(), "stream-rec-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function frame(k: number): TopicFrame {
  const bytes = readFileSync(join(FIXTURES, "axisarray", `SIG_run1_000${k}.bin`));
  const { msgId } = parseTxTcpFrame(bytes);
  return { topic: "SIG/OUTPUT_SIGNAL", publisherId: "p1", publisherTopic: "SIG/OUTPUT_SIGNAL", msgId, payload: bytes.subarray(17) };
}

function recording(name: string, onOverflow: OverflowPolicy): { rec: StreamRecording; output: SegmentedOutput; onFrame: (f: TopicFrame) => Promise<void> } {
  const output = new SegmentedOutput(join(dir, name), { session_description: "test" }, { overwrite: true });
  const rec = new StreamRecording({
    graphAddress: "127.0.0.1:1",
    patterns: [],
    clock: "system",
    onOverflow,
    bufferBytes: 1000, // smaller than one 3200-byte message: a second queued message never fits
    output,
    fileTime: { system: (t) => t - 1700000000, monotonic: (t) => t, now: () => 0 },
  });
  const onFrame = (rec as unknown as { onFrame(f: TopicFrame): Promise<void> }).onFrame.bind(rec);
  return { rec, output, onFrame };
}

async function attr(path: string, obj: string, name: string): Promise<unknown> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, "r");
  try {
    return (f.get(obj) as InstanceType<typeof h5wasm.Group>).attrs[name]?.value;
  } finally {
    f.close();
  }
}

describe("StreamRecording buffer", () => {
  it("drop: a frame that does not fit is acknowledged at once, counted, noted in the file, and its gap starts a new series", async () => {
    const { rec, output, onFrame } = recording("drop.nwb", "drop");
    const a = onFrame(frame(0));
    const b = onFrame(frame(1)); // the first is still queued: no room
    await Promise.all([a, b]);
    await new Promise((r) => setTimeout(r, 50));
    await onFrame(frame(2));
    await rec.close();
    const st = rec.stats.get("SIG/OUTPUT_SIGNAL")!;
    expect(st).toMatchObject({ frames: 2, dropped: 1, droppedSamples: 100, samples: 200, series: ["SIG_OUTPUT_SIGNAL", "SIG_OUTPUT_SIGNAL_2"] });
    await output.close();
    const comments = await attr(join(dir, "drop.nwb"), "acquisition/SIG_OUTPUT_SIGNAL_2", "comments");
    expect(String(comments)).toContain("dropped 1 message(s) (100 samples)");
  });

  it("block: the acknowledgement waits until the writer made room; nothing is lost", async () => {
    const { rec, output, onFrame } = recording("block.nwb", "block");
    const order: string[] = [];
    const a = onFrame(frame(0)).then(() => order.push(`ack0 after ${rec.stats.get("SIG/OUTPUT_SIGNAL")?.frames ?? 0} written`));
    const b = onFrame(frame(1)).then(() => order.push(`ack1 after ${rec.stats.get("SIG/OUTPUT_SIGNAL")?.frames ?? 0} written`));
    await Promise.all([a, b]);
    expect(order).toEqual(["ack0 after 0 written", "ack1 after 1 written"]);
    await rec.close();
    const st = rec.stats.get("SIG/OUTPUT_SIGNAL")!;
    expect(st).toMatchObject({ frames: 2, dropped: 0, samples: 200, series: ["SIG_OUTPUT_SIGNAL"] });
    await output.close();
  });
});
