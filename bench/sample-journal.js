/**
 * What crash safety costs on the data path (#10), run by hand:
 * `npm run build && node bench/sample-journal.js`.
 * The sample journal (src/journal/sample-journal.ts) gets every chunk before it is acknowledged:
 * one synchronous write into the page cache (+ an fdatasync each second). This appends the same
 * 256-channel float32 30 kHz chunks as bench/data-path.js (10 ms = 300 samples, 1 s = 30000) and
 * reports MB/s, CPU seconds per GB (compare: the data path itself, `ours` in bench/data-path.js) and
 * the disk bytes it adds (the journal is removed at a clean stop). Env: BENCH_DP_MB (default 600).
 */
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SampleJournalWriter } from "../dist/journal/sample-journal.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const WORK = join(HERE, "work", "sample-journal");
const MB = Number(process.env.BENCH_DP_MB ?? 600);
mkdirSync(WORK, { recursive: true });

console.log("| message | chunks | MB | MB/s | CPU s/GB | journal bytes / sample bytes |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const rows of [300, 30000]) {
  const bytes = new Uint8Array(rows * 256 * 4).map((_, i) => i * 31);
  const labels = Array.from({ length: 256 }, (_, i) => `Ch${String(i).padStart(3, "0")}`);
  const n = Math.max(1, Math.round((MB * 1e6) / bytes.byteLength));
  const path = join(WORK, `j_${rows}.samples.bin`);
  rmSync(path, { force: true });
  const w = SampleJournalWriter.create(path, { nwbPath: "bench.nwb", identifier: "bench" });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const chunk = {
      type: "float32",
      bytes,
      rows,
      sampleShape: [256],
      time: { start: (i * rows) / 30000, rate: 30000 },
      channelLabels: labels,
      unit: "volts",
      conversion: 1e-6,
      offset: 0,
    };
    w.append("BENCH/SIG", 0, chunk);
    // let the once-a-second fdatasync run, as it does while recording
    if (i % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const size = statSync(path).size;
  w.close(true);
  const total = n * bytes.byteLength;
  console.log(
    `| ${rows === 300 ? "10 ms (307 kB)" : "1 s (30.7 MB)"} | ${n} | ${(total / 1e6).toFixed(0)} | ${(total / 1e6 / wall).toFixed(0)} | ${((c.user + c.system) / 1e6 / (total / 1e9)).toFixed(2)} | ${(size / total).toFixed(3)} |`,
  );
}
