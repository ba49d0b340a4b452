#!/usr/bin/env node
/**
 * Crash-test publisher: registers a few components with the hub at URL, then publishes COUNT
 * updates as fast as the hub acknowledges them (seeded, so every trial's stream is reproducible).
 * Types vary (float, int, text, lists, nested mappings); every 700th update changes a setting's
 * type, which makes the typed table rotate to a new file segment.
 *
 *   node test/crash/publisher.mjs ws://127.0.0.1:PORT COUNT SEED
 *
 * Prints `acked N` to stdout every 250 updates and `done N` at the end.
 */
import { HubPublisher } from "../../dist/producer/hub/index.js";

const [url, countText = "5000", seedText = "1"] = process.argv.slice(2);
const count = Number(countText);
let state = Number(seedText) >>> 0 || 1;
const rand = () => {
  // xorshift32: small, seeded, good enough for test data
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 2 ** 32;
};
const m = (o) => new Map(Object.entries(o));
const components = ["SYS/SOURCE", "SYS/FILTER", "SYS/GAIN", "SYS/DECODER", "SYS/OUT"];
const settingsFor = (c, i) => {
  switch (c) {
    case "SYS/SOURCE":
      return m({ rate: 1000.0 + i, channels: BigInt(32 + (i % 4)), name: `src-${i}` });
    case "SYS/FILTER":
      return m({ cutoff: rand() * 100, order: BigInt(i % 8), band: [rand(), rand() + 1] });
    case "SYS/GAIN":
      // every 700 updates the gain becomes text for a while: a kind change, a new segment
      return m({ gain: Math.floor(i / 700) % 2 === 1 ? `x${i}` : rand() * 10, enabled: i % 2 === 0 });
    case "SYS/DECODER":
      return m({ model: m({ kind: "kalman", dims: BigInt(3), alpha: rand() }), note: "é🎉 unicode" });
    default:
      return m({ path: `/tmp/out/${i}.bin`, every: BigInt(i) });
  }
};

const pub = await HubPublisher.connect(url, { session: "crash-test" });
for (const c of components) await pub.register(c, settingsFor(c, 0));
let acked = 0;
for (let i = 1; i <= count; i++) {
  const c = components[Math.floor(rand() * components.length)];
  await pub.update(c, settingsFor(c, i));
  acked++;
  if (acked % 250 === 0) process.stdout.write(`acked ${acked}\n`);
}
process.stdout.write(`done ${acked}\n`);
await pub.close();
