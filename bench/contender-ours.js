/**
 * Contender: our sinks. One child process per run. Streams the JSONL log through the same path as
 * `convert` (readEventLog → SinkSet over a SegmentedOutput), timestamps stored as they are (the
 * reference stores them raw too), with the bench flush policy (bench/flush-policy.js).
 *
 *   node bench/contender-ours.js <annotations|table|annotations,table|none> <events.jsonl> <out.nwb>
 *
 * `none` only reads and parses the log (no sink, no file): the input's share of a run.
 *
 * Prints one JSON line: counts, wall-clock marks (ms since the epoch) and peak RSS.
 */
import { SinkSet, parseSinkList } from "../dist/sinks/sink-set.js";
import { isSentinel } from "../dist/events/event.js";
import { loadHdf5 } from "../dist/nwb/hdf5/h5wasm.js";
import { SegmentedOutput } from "../dist/output/segmented-output.js";
import { readEventLog } from "../dist/producer/sources/jsonl-log.js";
import { FlushPolicy } from "./flush-policy.js";

const now = () => performance.timeOrigin + performance.now();
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

const [sinkList, eventsPath, outPath] = process.argv.slice(2);
const tProcess = performance.timeOrigin;
const h5 = await loadHdf5();
const tReady = now();

// The run window starts here (sink construction) and ends after close; tSinkMs counts only the
// time inside the sinks (write, flush, close), i.e. without reading and parsing the log.
const tStart = now();
const cpuStartMs = cpuMs();
let sinkMs = 0;
const output = new SegmentedOutput(outPath, { session_description: "nwb-settings benchmark" }, { overwrite: true, timestampsReferenceTime: new Date(0) });
const sinks = sinkList === "none" ? undefined : new SinkSet(parseSinkList(sinkList), output);
const policy = new FlushPolicy(() => {
  const t = performance.now();
  sinks?.flush();
  sinkMs += performance.now() - t;
});
const stagedRows = () => output.segments.reduce((n, s) => n + s.rows, 0);

let events = 0;
let tSteady = 0; // after the startup snapshot (sentinel) is written and flushed
let steadyEvents = 0; // events after the sentinel
let rejected = 0;
let lastTime = 0;
for await (const rec of readEventLog(eventsPath)) {
  if (rec.kind === "error") {
    rejected++;
    continue;
  }
  const t = performance.now();
  if (tSteady) steadyEvents++;
  try {
    await sinks?.write(rec.event);
    events++;
    lastTime = Math.max(lastTime, rec.event.timestamp);
  } catch (err) {
    rejected++;
    process.stderr.write(`${err.message}\n`);
  }
  sinkMs += performance.now() - t;
  policy.afterWrite(stagedRows());
  if (tSteady === 0 && isSentinel(rec.event)) tSteady = now();
}
const tc = performance.now();
await sinks?.close(lastTime);
sinkMs += performance.now() - tc;
const tClosed = now();

process.stdout.write(
  `${JSON.stringify({
    events,
    rejected,
    rows: stagedRows(),
    flushes: policy.flushes,
    outputs: output.writtenSegments.map((s) => s.path),
    tProcess,
    tReady,
    tStart,
    tSteady,
    tClosed,
    steadyEvents,
    tSinkMs: sinkMs,
    maxRssKiB: process.resourceUsage().maxRSS,
    cpuMs: cpuMs(),
    cpuStartMs,
    endMemory: { ...process.memoryUsage(), wasmHeap: h5.HEAPU8.length },
  })}\n`,
);
