#!/usr/bin/env node
/**
 * How far behind can `record --source ws://` fall and still catch up without a gap?
 * Starts `nwb-settings hub` and `nwb-settings record --source ws://…` as processes, publishes
 * N updates of SIZE bytes every INTERVAL ms, stops the recorder, and counts the rows of the file
 * with our reader. Prints one JSON line.
 *
 *   node bench/slow-reader.mjs [N=600] [SIZE=100000] [INTERVAL_MS=10] [SINKS=annotations,table]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HubPublisher } from "../dist/producer/hub/index.js";
import { describeNwb } from "../dist/nwb/describe.js";
import { segmentsOf } from "../dist/nwb/output-files.js";

const [n = 600, size = 100_000, interval = 10] = process.argv.slice(2, 5).map(Number);
const sinks = process.argv[5] ?? "annotations,table";
const bin = new URL("../bin/nwb-settings.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "slow-reader-"));
const out = join(dir, "rec.nwb");

function start(args) {
  const p = spawn(process.execPath, [...(args[0] === "record" && process.env.PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.PROF] : []), bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  p.log = "";
  p.stdout.on("data", (d) => (p.log += d));
  p.stderr.on("data", (d) => (p.log += d));
  return p;
}
const until = (p, re) =>
  new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = re.exec(p.log);
      if (m) {
        clearInterval(t);
        resolve(m);
      }
    }, 20);
    p.on("exit", () => {
      clearInterval(t);
      reject(new Error(`exited: ${p.log}`));
    });
  });

const hub = start(["hub", "--port", "0"]);
const [, url] = await until(hub, /listening on (ws:\/\/\S+)/);
const pub = await HubPublisher.connect(url, { session: "s" });
await pub.register(
  "big",
  new Map([
    ["i", 0n],
    ["blob", "x".repeat(size)],
  ]),
);
const rec = start(["record", "--source", url, "--out", out, "--sinks", sinks]);
await until(rec, /recording /);
await new Promise((r) => setTimeout(r, 500));
const t0 = performance.now();
for (let i = 1; i <= n; i++) {
  await pub.update(
    "big",
    new Map([
      ["i", BigInt(i)],
      ["blob", String.fromCharCode(97 + (i % 26)).repeat(size)],
    ]),
  );
  const due = t0 + i * interval - performance.now();
  if (due > 0) await new Promise((r) => setTimeout(r, due));
}
const publishMs = performance.now() - t0;
// wait for the recorder to catch up (it reports how far behind it is on its status line)
const waitStart = performance.now();
await new Promise((r) => setTimeout(r, 1000));
rec.kill("SIGINT");
const code = await new Promise((r) => rec.on("exit", r));
const caughtUpMs = performance.now() - waitStart;
await pub.close();
hub.kill("SIGINT");
await new Promise((r) => hub.on("exit", r));
let annotationRows = 0;
for (const path of [out, ...(await segmentsOf(out))]) {
  for (const o of await describeNwb(path)) if (o.neurodataType === "AnnotationSeries") annotationRows += o.rows;
}
const recorded = /stopped \([^)]*\): (\d+) events/.exec(rec.log)?.[1];
console.log(
  JSON.stringify({
    n,
    size,
    intervalMs: interval,
    publishMs: Math.round(publishMs),
    recorderExit: code,
    eventsRecorded: Number(recorded),
    annotationRows,
    expectedRows: n + 1,
    dropped: /4008|too slow/.test(rec.log),
    publishersHeld: (hub.log.match(/holding publishers/g) ?? []).length,
    resyncs: (rec.log.match(/resync/g) ?? []).length,
    caughtUpMs: Math.round(caughtUpMs),
  }),
);
if (process.env.SLOW_READER_LOG) console.error(rec.log);
rmSync(dir, { recursive: true, force: true });
