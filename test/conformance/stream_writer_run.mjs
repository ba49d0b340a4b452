// Write sample streams described by a manifest (made by test_stream_writer.py) into an NWB file
// with the built stream writer (dist/nwb/stream-writer.js): node stream_writer_run.mjs MANIFEST OUT META
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadMetadataFile } from "../../dist/nwb/metadata.js";
import { NwbFile } from "../../dist/nwb/nwb-file.js";
import { StreamWriter } from "../../dist/nwb/stream-writer.js";

const [manifestPath, out, metaPath] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const dir = dirname(manifestPath);
const meta = await loadMetadataFile(metaPath);
const nwb = await NwbFile.create(out, meta, { now: new Date(manifest.reference_time_ms), timestampsReferenceTime: new Date(manifest.reference_time_ms) });
const taken = new Set();
const writers = new Map();
const report = [];
for (const c of manifest.chunks) {
  let w = writers.get(c.stream);
  if (!w) {
    w = new StreamWriter(
      nwb,
      c.stream,
      {
        description: `stream ${c.stream}`,
        device: { name: "acquisition_system", description: "system that produced the streams" },
        electrodeLocation: manifest.electrode_location,
      },
      taken,
    );
    writers.set(c.stream, w);
  }
  const bytes = new Uint8Array(readFileSync(join(dir, c.file)));
  const time = c.timestamps_file
    ? { timestamps: new Float64Array(new Uint8Array(readFileSync(join(dir, c.timestamps_file))).buffer) }
    : { start: c.start, rate: c.rate };
  const reason = w.write({
    type: c.type,
    bytes,
    rows: c.rows,
    sampleShape: c.sample_shape,
    time,
    ...(c.labels ? { channelLabels: c.labels } : {}),
    unit: c.unit,
    conversion: c.conversion,
    offset: c.offset,
  });
  report.push(reason);
  if (c.flush) nwb.flush();
}
nwb.close();
console.log(JSON.stringify({ reasons: report, series: Object.fromEntries([...writers].map(([k, w]) => [k, w.series])) }));
