#!/usr/bin/env node
/**
 * A publisher as a JavaScript user writes one: the plain `ws` package and JSON.stringify, nothing of
 * nwb-settings. It registers SIM/GAIN with {gain: 1.5, offset: 0.25, steps: 0} and then steps gain
 * by 0.5 N times (1.5 -> 2.0 -> 2.5 -> ...): JSON.stringify writes 2.0 as `2`, so every other update
 * carries an integer for a float setting (docs/protocol.md, "Numbers from JSON publishers").
 *
 *   node test/conformance/hub_json_publisher.mjs ws://127.0.0.1:PORT N INTERVAL_MS
 *
 * stdout: one JSON line per acknowledged request ({"event": "register"|"update", "seq", "gain"}),
 * then {"event": "done", "last_seq": n}.
 */
import WebSocket from "ws";

const [url, n = "10", intervalMs = "40"] = process.argv.slice(2);
const ws = new WebSocket(url);
await new Promise((resolve, reject) => {
  ws.once("open", resolve);
  ws.once("error", reject);
});
let nextId = 1;
const waiting = new Map();
ws.on("message", (data) => {
  const msg = JSON.parse(String(data));
  const w = waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  if (msg.type === "error") w.reject(new Error(JSON.stringify(msg)));
  else w.resolve(msg);
});
const request = (body) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    ws.send(JSON.stringify({ ...body, id }));
  });
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

let settings = { gain: 1.5, offset: 0.25, steps: 0 };
let reply = await request({ type: "register", component: "SIM/GAIN", settings, session: "json-publisher" });
out({ event: "register", seq: reply.seq, gain: settings.gain });
for (let i = 1; i <= Number(n); i++) {
  await new Promise((r) => setTimeout(r, Number(intervalMs)));
  settings = { ...settings, gain: 1.5 + 0.5 * i, steps: i };
  reply = await request({ type: "update", component: "SIM/GAIN", settings });
  out({ event: "update", seq: reply.seq, gain: settings.gain });
}
out({ event: "done", last_seq: reply.seq });
ws.close();
