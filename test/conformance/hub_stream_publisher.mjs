#!/usr/bin/env node
/**
 * Test publisher for test_hub_streams.py, in Node through our client (dist/producer/hub): the same
 * scenario and stdout contract as hub_stream_publisher.py (see there).
 *
 *   node test/conformance/hub_stream_publisher.mjs ws://127.0.0.1:PORT FRAMES
 */
import { createHash } from "node:crypto";
import { HubPublisher } from "../../dist/producer/hub/index.js";
import { HubConnection } from "../../dist/producer/hub/hub-connection.js";

const [url, framesArg] = process.argv.slice(2);
const frames = Number(framesArg);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sha = (a) =>
  createHash("sha256")
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest("hex");
// a small deterministic generator (xorshift32) → values in [-1, 1)
let state = 12345;
const rand = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 31 - 1;
};

const pub = await HubPublisher.connect(url, { session: "node" });
const events = await HubConnection.open(url); // to read the hub's time of the settings change
await pub.register("HS/GAIN", new Map([["gain", 1.0]]));
const labels = Array.from({ length: 8 }, (_, i) => `e${i}`);
const f32 = await pub.declareStream({ stream: "hs_f32", dtype: "float32", channels: labels, rate: 1000.0, unit: "uV" });
const i16 = await pub.declareStream({ stream: "hs_i16", dtype: "int16", channels: 4, unit: "uV", scale: 0.195 });
const t0 = Date.now() / 1000;
let gain = 1.0;
let tIrregular = t0;
for (let k = 0; k < frames; k++) {
  if (k === Math.floor(frames / 2)) {
    gain = 2.0;
    const seq = await pub.update("HS/GAIN", new Map([["gain", 2.0]]));
    const reply = await events.request("events", { after_seq: BigInt(seq - 1) });
    out({ event: "setting", seq, timestamp: reply.get("events")[0].get("timestamp") });
  }
  const x = new Float32Array(50 * 8).map(() => rand() * 10 * gain);
  const start = t0 + k * 0.05;
  await f32.send(x, k % 2 === 0 ? { t0: start } : {});
  out({ event: "sent", stream: "hs_f32", k, sha256: sha(x), t0: start });
  const y = new Int16Array(20 * 4).map(() => Math.round(rand() * 2000));
  const ts = [];
  for (let i = 0; i < 20; i++) {
    tIrregular += 0.0005 + (rand() + 1) * 0.0005;
    ts.push(tIrregular);
  }
  await i16.send(y, { timestamps: ts });
  out({ event: "sent", stream: "hs_i16", k, sha256: sha(y), timestamps: ts });
  await new Promise((r) => setTimeout(r, 10));
}
await f32.end();
await i16.end();
out({ event: "done" });
await events.close();
await pub.close();
