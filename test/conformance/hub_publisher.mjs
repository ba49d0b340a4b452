#!/usr/bin/env node
/**
 * Test publisher for test_record_hub.py: plays a plan of registrations and updates against an
 * nwb-settings hub through the real protocol (dist/producer/hub/hub-publisher.js).
 *
 *   node test/conformance/hub_publisher.mjs ws://127.0.0.1:PORT PLAN.json [--honour-apply]
 *
 * PLAN.json: {"session": "...", "interval_ms": 50,
 *             "register": [[component, settings], ...], "updates": [[component, settings], ...]}
 * Settings are read losslessly (ints stay ints, 2.0 stays a float).
 *
 * stdout, one JSON line per action, after the hub acknowledged it:
 *   {"event": "register"|"update", "index": i, "component": ..., "seq": n,
 *    "before_ms": Date.now() before the request, "after_ms": Date.now() after the reply}
 * then {"event": "done", "last_seq": n}. Exits 0; non-zero with a message on any error.
 *
 * --honour-apply: a publisher that honours the hub's `apply` (restore --to ws://): it publishes the
 * settings it is given as an update and prints {"event": "applied", "component": ..., "seq": n,
 * "settings": {...}} (lossless JSON); it keeps running after "done" until SIGTERM/SIGINT.
 */
import { readFileSync } from "node:fs";
import { parseJson, stringifyJson } from "../../dist/events/json.js";
import { HubPublisher } from "../../dist/producer/hub/index.js";

const [url, planPath, flag] = process.argv.slice(2);
const plan = parseJson(readFileSync(planPath, "utf8"));
const session = plan.get("session");
const interval = Number(plan.get("interval_ms") ?? 50n);
const pub = await HubPublisher.connect(url, { session });
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
let last = 0;
if (flag === "--honour-apply") {
  pub.onApply((component, settings) => {
    pub.update(component, settings).then((seq) => {
      process.stdout.write(`{"event": "applied", "component": ${JSON.stringify(component)}, "seq": ${seq}, "settings": ${stringifyJson(settings)}}\n`);
    });
  });
}
for (const [kind, list] of [
  ["register", plan.get("register")],
  ["update", plan.get("updates")],
]) {
  for (const [i, [component, settings]] of list.entries()) {
    if (kind === "update") await new Promise((r) => setTimeout(r, interval));
    const before = Date.now();
    last = kind === "register" ? await pub.register(component, settings) : await pub.update(component, settings);
    out({ event: kind, index: i, component, seq: last, before_ms: before, after_ms: Date.now() });
  }
}
out({ event: "done", last_seq: last });
if (flag === "--honour-apply") {
  await new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
}
await pub.close();
