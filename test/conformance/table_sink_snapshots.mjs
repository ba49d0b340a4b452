// Drives the typed-column sink over a JSONL log (timestamps as written), flushing after every event
// the way the recorder does (with the clock's time: here the event's time + 0.25 s) and copying the
// open segment right after each flush, so pytest can check that every flushed state is a valid NWB
// file whose open row ends at the flush time. Needs `npm run build`. Prints a JSON summary on stdout.
//
//   node test/conformance/table_sink_snapshots.mjs LOG.jsonl OUT_DIR
import { copyFileSync, mkdirSync } from "node:fs";
import { basename, join } from "node:path";
import { SegmentedOutput } from "../../dist/output/segmented-output.js";
import { readEventLog } from "../../dist/producer/sources/jsonl-log.js";
import { TableSink } from "../../dist/sinks/table-sink.js";
import { loadMetadataFile } from "../../dist/nwb/metadata.js";

const [log, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
// The fixtures' complete metadata (subject included), so the inspector judges the table alone.
const meta = await loadMetadataFile(new URL("../fixtures/logs/table/meta.yaml", import.meta.url).pathname);
const output = new SegmentedOutput(join(outDir, "out.nwb"), meta);
const sink = new TableSink(output);
const snapshots = [];
let last = 0;
let i = 0;
for await (const rec of readEventLog(log)) {
  if (rec.kind !== "event") continue;
  await sink.write(rec.event);
  last = rec.event.timestamp;
  const flushTime = rec.event.timestamp + 0.25;
  sink.flush(flushTime);
  i++;
  const open = output.open;
  if (open && output.segments[output.segments.length - 1].rows > 0) {
    const snap = join(outDir, `snap_${String(i).padStart(3, "0")}_${basename(open.path)}`);
    copyFileSync(open.path, snap);
    snapshots.push({ after_event: i, segment: basename(open.path), path: snap, flush_time: flushTime });
  }
}
await sink.close(last + 1);
await output.close();
process.stdout.write(`${JSON.stringify({ segments: output.writtenSegments.map((s) => s.path), snapshots })}\n`);
