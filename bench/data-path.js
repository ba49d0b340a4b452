/**
 * Data-path benchmark (#10), part of `npm run bench` (bench/run.js calls it last; alone:
 * `npm run build && node bench/data-path.js`). A 256-channel float32 30 kHz stream in 10 ms
 * (300-sample) and 1 s (30000-sample) AxisArray messages, side by side, each contender in its own
 * child process, fed as fast as it takes the messages (no socket: the writers' own ceilings):
 *   floor   — raw h5wasm appends of the same bytes into one chunked dataset (resize + write per
 *             message, same chunk shape): what any h5wasm writer pays at least;
 *   ours    — what `record --streams` does per message after the socket: split the ezmsg frame
 *             (framed by ezmsg's own MessageMarshal, bench/make_axisarray_frame.py), decode the
 *             pickle (numpy + AxisArray reducers), make the SampleChunk, StreamWriter.write
 *             (ElectricalSeries with 256 electrodes), flush every 500 ms of wall time;
 *   NWBSink — ezmsg-nwb 1.13's NWBSinkConsumer._process per message, then close (bench/nwbsink_data.py,
 *             in bench/.venv-ref; skipped with a note if that venv is missing).
 * A separate h5py reader (bench/poll_first_row.py) measures when the first sample is readable.
 * Reports MB/s of sample bytes (1 MB = 1e6 B), CPU seconds per GB (the write loop's, from the
 * process itself), peak RSS, first-sample-readable latency, and ratios. Not a test.
 * Env: BENCH_DP_MB (sample MB per case, default 600).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const WORK = join(HERE, "work", "data-path");
const PY = process.env.NWB_SETTINGS_PYTHON ?? join(HERE, "..", ".venv", "bin", "python");
const REF_PY = join(HERE, ".venv-ref", "bin", "python");
const SIZES = [300, 30000];
const DATASET = { floor: "acquisition/floor/data", ours: "acquisition/raw/data", nwbsink: "acquisition/raw/data" };

/** One case in this process (the child side): prints "start <unix s>", then one JSON line. */
async function runCase(kind, rows, n, out) {
  const { axisArrayToChunk } = await import("../dist/app/record/axisarray-chunk.js");
  const { decodeAxisArray } = await import("../dist/ezmsg/axisarray.js");
  const { parseTxTcpFrame } = await import("../dist/ezmsg/message-marshal.js");
  const { SampleDataset } = await import("../dist/nwb/hdf5/sample-dataset.js");
  const { NwbFile } = await import("../dist/nwb/nwb-file.js");
  const { StreamWriter } = await import("../dist/nwb/stream-writer.js");
  const frame = new Uint8Array(readFileSync(join(WORK, `frame_${rows}.bin`)));
  rmSync(out, { force: true });
  process.stdout.write(`start ${((performance.timeOrigin + performance.now()) / 1000).toFixed(6)}\n`);
  const nwb = await NwbFile.create(out, { session_description: "bench" }, { overwrite: true });
  // the write loop is timed from here (the file's creation is counted in the first-sample latency)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let rss = process.memoryUsage().rss;
  let lastFlush = performance.now();
  const tick = () => {
    if (performance.now() - lastFlush > 500) {
      nwb.flush();
      lastFlush = performance.now();
      rss = Math.max(rss, process.memoryUsage().rss);
    }
  };
  if (kind === "floor") {
    const { buffers } = parseTxTcpFrame(frame);
    const raw = buffers[1];
    const ds = SampleDataset.create(nwb, "acquisition/floor/data", "float32", [256]);
    for (let i = 0; i < n; i++) {
      ds.append(raw, rows); // the out-of-band buffer as received: no decode, no copy
      ds.flush();
      if (i === 0) nwb.file.flush();
      tick();
    }
  } else {
    const w = new StreamWriter(nwb, "raw", { description: "bench", device: { name: "dev", description: "bench" } });
    for (let i = 0; i < n; i++) {
      const { buffers } = parseTxTcpFrame(frame);
      const msg = decodeAxisArray(buffers[0], buffers.slice(1));
      const chunk = axisArrayToChunk(msg, (t) => t - 1700000000.0 + (i * rows) / 30000);
      w.write(chunk);
      if (i === 0) nwb.flush();
      tick();
    }
  }
  nwb.flush();
  nwb.close();
  const c = process.cpuUsage(c0);
  rss = Math.max(rss, process.memoryUsage().rss);
  process.stdout.write(`${JSON.stringify({ wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6, rssMiB: rss / 2 ** 20 })}\n`);
}

function lines(child, onLine) {
  createInterface({ input: child.stdout }).on("line", onLine);
}

/** Run one contender in a child process with the first-sample reader beside it. */
async function contender(kind, rows, n, log) {
  const out = join(WORK, `${kind}_${rows}.nwb`);
  rmSync(out, { force: true });
  const poller = spawn(PY, [join(HERE, "poll_first_row.py"), out, DATASET[kind], "600"], { stdio: ["ignore", "pipe", "inherit"] });
  const pollerClosed = new Promise((resolve) => poller.on("close", resolve));
  let seen = null;
  const ready = new Promise((resolve) =>
    lines(poller, (l) => {
      if (l === "ready") resolve();
      else if (l.startsWith("seen ")) seen = Number(l.slice(5));
    }),
  );
  await ready;
  const argv =
    kind === "nwbsink"
      ? [REF_PY, [join(HERE, "nwbsink_data.py"), String(rows), String(n), out]]
      : [process.execPath, [fileURLToPath(import.meta.url), "--case", kind, String(rows), String(n), out]];
  const child = spawn(argv[0], argv[1], { stdio: ["ignore", "pipe", "inherit"] });
  let start = null;
  let result = null;
  lines(child, (l) => {
    if (l.startsWith("start ")) start = Number(l.slice(6));
    else if (l.startsWith("{")) result = JSON.parse(l);
  });
  const code = await new Promise((resolve) => child.on("close", resolve));
  await new Promise((r) => setTimeout(r, 100));
  poller.kill("SIGTERM");
  await pollerClosed;
  if (code !== 0 || !result) throw new Error(`${kind} ${rows}: exit ${code}`);
  const bytes = n * rows * 256 * 4;
  const r = {
    rows,
    kind,
    messages: n,
    mb: bytes / 1e6,
    mbps: bytes / 1e6 / result.wall,
    cpuPerGB: result.cpu / (bytes / 1e9),
    rssMiB: result.rssMiB,
    firstReadable: seen !== null && start !== null ? seen - start : null,
  };
  log(JSON.stringify(r));
  return r;
}

/** Every case; returns the results and the markdown section for RESULTS.md. */
export async function runDataPathBench({ mb = Number(process.env.BENCH_DP_MB ?? 600), log = (m) => process.stderr.write(`${m}\n`) } = {}) {
  mkdirSync(WORK, { recursive: true });
  const withRef = existsSync(REF_PY);
  const kinds = ["floor", "ours", ...(withRef ? ["nwbsink"] : [])];
  const results = [];
  for (const rows of SIZES) {
    execFileSync(PY, [join(HERE, "make_axisarray_frame.py"), String(rows), join(WORK, `frame_${rows}.bin`)]);
    const n = Math.max(1, Math.round((mb * 1e6) / (rows * 256 * 4)));
    for (const kind of kinds) {
      // NWBSink at 10 ms messages writes ~50 MB/s: a fifth of the bytes keeps its run near a minute
      const nk = kind === "nwbsink" ? Math.max(3, Math.round(n / 5)) : n;
      results.push(await contender(kind, rows, nk, log));
    }
  }
  return { results, markdown: renderDataPath(results, withRef, mb) };
}

const fmt = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));

export function renderDataPath(results, withRef, mb) {
  const label = (rows) => (rows === 300 ? "10 ms (300×256 f32, 307 kB)" : "1 s (30000×256 f32, 30.7 MB)");
  const name = { floor: "raw h5wasm append (floor)", ours: "ours (decode + StreamWriter)", nwbsink: "ezmsg-nwb 1.13 NWBSink" };
  const out = [
    "## Data path (#10): one AxisArray stream, 256 ch float32 at 30 kHz",
    "",
    `Each contender in its own process, fed as fast as it takes messages (no socket), ~${mb} MB per case (NWBSink a fifth).`,
    "CPU s/GB and MB/s over the write loop and close (after the file is created); RSS is the process's peak; first sample readable:",
    "a separate h5py reader polling every 5 ms, from the contender's start (file creation included).",
    "",
    "MB/s is wall-clock and so depends on the machine's load (printed below); 1000 ÷ CPU s/GB is the rate the writer would",
    "sustain with one whole core (the CPU-bound ceiling), which a loaded machine does not change.",
    "",
    `Load average (1 min) during this section: ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs.`,
    "",
    "| message | contender | messages | MB | MB/s | CPU s/GB | one-core ceiling MB/s | peak RSS MiB | first sample readable |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results)
    out.push(
      `| ${label(r.rows)} | ${name[r.kind]} | ${r.messages} | ${fmt(r.mb)} | ${fmt(r.mbps)} | ${fmt(r.cpuPerGB, 2)} | ${fmt(1000 / r.cpuPerGB)} | ${fmt(r.rssMiB)} | ${r.firstReadable === null ? "–" : `${fmt(r.firstReadable * 1000)} ms`} |`,
    );
  out.push(
    "",
    "| message | ours MB/s ÷ NWBSink | ours CPU s/GB ÷ NWBSink (target ≤ 0.33) | ours CPU s/GB ÷ floor (target ≤ 1.5) | ours MB/s ÷ floor | first sample readable, NWBSink ÷ ours |",
    "|---|---:|---:|---:|---:|---:|",
  );
  for (const rows of SIZES) {
    const get = (k) => results.find((r) => r.rows === rows && r.kind === k);
    const o = get("ours");
    const f = get("floor");
    const s = get("nwbsink");
    out.push(
      `| ${label(rows)} | ${s ? fmt(o.mbps / s.mbps, 1) : "–"}× | ${s ? fmt(o.cpuPerGB / s.cpuPerGB, 3) : "–"} | ${fmt(o.cpuPerGB / f.cpuPerGB, 2)} | ${fmt(o.mbps / f.mbps, 2)} | ${s?.firstReadable && o.firstReadable ? `${fmt(s.firstReadable / o.firstReadable, 1)}×` : "–"} |`,
    );
  }
  if (!withRef) out.push("", "NWBSink not run: bench/.venv-ref is missing (bench/run.js creates it).");
  return `${out.join("\n")}\n`;
}

if (process.argv[2] === "--case") {
  const [kind, rows, n, out] = process.argv.slice(3);
  await runCase(kind, Number(rows), Number(n), out);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { markdown } = await runDataPathBench();
  process.stdout.write(markdown);
}
