/**
 * Data-path benchmark (#10), run by hand: `npm run build && node bench/data-path.js`.
 * A 256-channel float32 30 kHz stream in 10 ms (300-sample) and 1 s (30000-sample) AxisArray
 * messages, framed by ezmsg's own MessageMarshal (bench/make_axisarray_frame.py, .venv):
 *   floor  — raw h5wasm appends of the same bytes into one chunked dataset (resize + write per
 *            message, same chunk shape): what any h5wasm writer pays at least;
 *   ours   — what `record --streams` does per message after the socket: split the frame, decode
 *            the pickle (numpy + AxisArray reducers), make the SampleChunk, StreamWriter.write
 *            (ElectricalSeries with 256 electrodes), flush every 500 ms of wall time.
 * Reports MB/s of sample bytes (1 MB = 1e6 B), CPU seconds per GB, peak RSS. Not a test; no
 * socket and no Python publisher in the loop (this is the recorder's own ceiling; the ezmsg
 * publisher saturates at 270–430 MB/s over TCP on this machine, see the pub/sub notes).
 * Env: BENCH_DP_MB (sample MB per case, default 600).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { axisArrayToChunk } from "../dist/app/record/axisarray-chunk.js";
import { decodeAxisArray } from "../dist/ezmsg/axisarray.js";
import { parseTxTcpFrame } from "../dist/ezmsg/message-marshal.js";
import { SampleDataset } from "../dist/nwb/hdf5/sample-dataset.js";
import { NwbFile } from "../dist/nwb/nwb-file.js";
import { StreamWriter } from "../dist/nwb/stream-writer.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const WORK = join(HERE, "work", "data-path");
const PY = process.env.NWB_SETTINGS_PYTHON ?? join(HERE, "..", ".venv", "bin", "python");
const MB = Number(process.env.BENCH_DP_MB ?? 600);
mkdirSync(WORK, { recursive: true });

function measure(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let rss = process.memoryUsage().rss;
  const sample = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 50);
  const extra = fn(() => (rss = Math.max(rss, process.memoryUsage().rss)));
  clearInterval(sample);
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, rss, ...extra };
}

const results = [];
for (const rows of [300, 30000]) {
  const framePath = join(WORK, `frame_${rows}.bin`);
  execFileSync(PY, [join(HERE, "make_axisarray_frame.py"), String(rows), framePath]);
  const frame = new Uint8Array(readFileSync(framePath));
  const bytesPer = rows * 256 * 4;
  const n = Math.max(1, Math.round((MB * 1e6) / bytesPer));
  const total = n * bytesPer;
  for (const kind of ["floor", "ours"]) {
    const out = join(WORK, `${kind}_${rows}.nwb`);
    rmSync(out, { force: true });
    const nwb = await NwbFile.create(out, { session_description: "bench" }, { overwrite: true });
    let firstReadable = null;
    const r = measure((peak) => {
      let lastFlush = performance.now();
      if (kind === "floor") {
        const { buffers } = parseTxTcpFrame(frame);
        const raw = buffers[1];
        const ds = SampleDataset.create(nwb, "acquisition/floor/data", "float32", [256]);
        for (let i = 0; i < n; i++) {
          ds.append(raw, rows); // the out-of-band buffer as received: no decode, no copy
          ds.flush();
          if (performance.now() - lastFlush > 500) {
            nwb.file.flush();
            lastFlush = performance.now();
            peak();
          }
        }
        nwb.file.flush();
      } else {
        const w = new StreamWriter(nwb, "raw", { description: "bench", device: { name: "dev", description: "bench" } });
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          const { buffers } = parseTxTcpFrame(frame);
          const msg = decodeAxisArray(buffers[0], buffers.slice(1));
          const chunk = axisArrayToChunk(msg, (t) => t - 1700000000.0 + (i * rows) / 30000);
          w.write(chunk);
          if (i === 0) {
            nwb.flush();
            firstReadable = (performance.now() - t0) / 1000;
          }
          if (performance.now() - lastFlush > 500) {
            nwb.flush();
            lastFlush = performance.now();
            peak();
          }
        }
        nwb.flush();
      }
      return {};
    });
    nwb.close();
    results.push({
      rows,
      kind,
      messages: n,
      mb: total / 1e6,
      mbps: total / 1e6 / r.wall,
      cpuPerGB: r.cpu / (total / 1e9),
      rssMiB: r.rss / 2 ** 20,
      firstReadable,
    });
    console.error(JSON.stringify(results.at(-1)));
  }
}
console.log("| message | path | messages | MB | MB/s | CPU s/GB | peak RSS MiB | first sample readable |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
  console.log(
    `| ${r.rows === 300 ? "10 ms (300×256 f32, 307 kB)" : "1 s (30000×256 f32, 30.7 MB)"} | ${r.kind} | ${r.messages} | ${r.mb.toFixed(0)} | ${r.mbps.toFixed(0)} | ${r.cpuPerGB.toFixed(2)} | ${r.rssMiB.toFixed(0)} | ${r.firstReadable === null ? "–" : `${(r.firstReadable * 1000).toFixed(1)} ms`} |`,
  );
}
