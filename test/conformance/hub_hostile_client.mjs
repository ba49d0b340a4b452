#!/usr/bin/env node
/**
 * Hostile publisher for test_hostile_hub.py: sends raw WebSocket messages to an nwb-settings hub
 * (bytes exactly as the plan gives them, no client-side checks) and, around every case, a canary
 * update through the real client (dist/producer/hub/hub-publisher.js).
 *
 *   node test/conformance/hub_hostile_client.mjs ws://127.0.0.1:PORT PLAN.json
 *
 * PLAN.json: {"cases": [{"name": ..., "messages": [{"text_b64": ..., "binary": false}, ...]}, ...]}
 * (base64 so that invalid UTF-8 and lone surrogates reach the socket unchanged).
 *
 * stdout, one JSON line each:
 *   {"event": "canary", "i": n, "seq": s}                        a canary update the hub acknowledged
 *   {"event": "reply", "case": k, "message": m, "text": "..."}   the hub's reply (raw JSON text)
 *   {"event": "closed", "case": k, "message": m, "code": c, "reason": "..."}   the hub closed the connection
 *   {"event": "done", "last_seq": s}
 * The hostile connection is reopened after a close. Every wait is bounded (10 s).
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { jsonObject } from "../../dist/events/json.js";
import { HubPublisher } from "../../dist/producer/hub/index.js";

const [url, planPath] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, "utf8"));
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const WAIT_MS = 10_000;

function withTimeout(p, what) {
  let t;
  return Promise.race([p, new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`timeout: ${what}`)), WAIT_MS)))]).finally(() => clearTimeout(t));
}

/** A raw connection: a queue of incoming texts and the close, if any. */
async function openRaw() {
  const ws = new WebSocket(url, { maxPayload: 256 * 1024 * 1024 });
  const inbox = [];
  let waiter = null;
  let closed = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  ws.on("message", (data) => {
    inbox.push(data.toString());
    wake();
  });
  ws.on("close", (code, reason) => {
    closed = { code, reason: reason.toString() };
    wake();
  });
  ws.on("error", () => {});
  const next = async (what) => {
    while (inbox.length === 0 && closed === null) await withTimeout(new Promise((r) => (waiter = r)), what);
    return inbox.length > 0 ? { text: inbox.shift() } : { closed };
  };
  const hello = await next("hello");
  if (!hello.text || JSON.parse(hello.text).type !== "hello") throw new Error(`no hello: ${JSON.stringify(hello)}`);
  return { ws, next, isClosed: () => closed !== null };
}

const canary = await HubPublisher.connect(url, { session: "canary" });
let last = await canary.register("canary", jsonObject({ i: 0n }));
out({ event: "canary", i: 0, seq: last });
let n = 0;
const tick = async () => {
  n++;
  last = await canary.update("canary", jsonObject({ i: BigInt(n) }));
  out({ event: "canary", i: n, seq: last });
};

let raw = await openRaw();
for (const [k, c] of plan.cases.entries()) {
  for (const [m, msg] of c.messages.entries()) {
    if (raw.isClosed()) raw = await openRaw();
    const bytes = Buffer.from(msg.text_b64, "base64");
    raw.ws.send(bytes, { binary: Boolean(msg.binary) });
    const r = await raw.next(`reply to case ${k} (${c.name}) message ${m}`);
    if (r.text !== undefined) out({ event: "reply", case: k, message: m, text: r.text });
    else out({ event: "closed", case: k, message: m, code: r.closed.code, reason: r.closed.reason });
  }
  await tick();
}
out({ event: "done", last_seq: last });
raw.ws.close();
await canary.close();
