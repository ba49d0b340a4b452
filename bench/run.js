/**
 * `npm run bench`: our sinks vs the Python reference (ezmsg-nwb 1.13) vs a raw-h5wasm floor, on one
 * generated event stream per N. Each contender runs in its own child process; a separate h5py
 * reader measures when the first row is readable. Writes bench/RESULTS.md and prints it.
 * Method: docs/benchmarks.md. Not a test: nothing here asserts on timings.
 *
 * Environment: BENCH_N (default 1000,10000,100000), BENCH_BUDGET_S (per contender per N, default
 * 180), BENCH_ONLY (regex on contender ids), BENCH_FLUSH_MS / BENCH_FLUSH_ROWS (flush-policy.js),
 * BENCH_KEEP=1 keeps every output file (default: only the smallest N's), BENCH_OUT (results file),
 * BENCH_REPEATS (default 3: runs shorter than BENCH_REPEAT_UNDER_S, default 20 s, are repeated and
 * each metric is the median), BENCH_DATA_PATH=0 skips the data-path section (bench/data-path.js), BENCH_DP_MB its size.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { FLUSH_MS, FLUSH_ROWS } from "./flush-policy.js";
import { COMPONENTS, SETTINGS_PER_COMPONENT, generateStream } from "./generate.js";
import { renderReport } from "./report.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..");
const WORK = join(HERE, "work");
const VENV = join(HERE, ".venv-ref");
const PY = join(VENV, "bin", "python");
const NS = (process.env.BENCH_N ?? "1000,2000,20000,100000").split(",").map(Number);
/** The reference's typed-column consumer takes ~1 min per 1,000 events: measured at these N only. */
const REF_TABLE_NS = (process.env.BENCH_REF_TABLE_N ?? "2000").split(",").map(Number);
const REF_TABLE_BUDGET_S = Number(process.env.BENCH_REF_TABLE_BUDGET_S ?? 600);
const BATCH_LOGS = Number(process.env.BENCH_BATCH_LOGS ?? 1000);
const BATCH_EVENTS = Number(process.env.BENCH_BATCH_EVENTS ?? 200);
const BATCH_REF_LOGS = Number(process.env.BENCH_BATCH_REF_LOGS ?? 200);
/**
 * Contenders run without NODE_EXTRA_CA_CERTS: where it is set (this machine sets it), every Node
 * process parses the whole CA bundle before any JavaScript runs (~90 ms here). nwb-settings opens
 * no TLS connection; the cost is the machine's, and it is reported apart (start-up table).
 */
const CHILD_ENV = { ...process.env, NWB_SETTINGS_TRACE: "1" };
delete CHILD_ENV.NODE_EXTRA_CA_CERTS;
const BUDGET_S = Number(process.env.BENCH_BUDGET_S ?? 180);
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const KEEP = process.env.BENCH_KEEP === "1";
const RESULTS = process.env.BENCH_OUT ?? join(HERE, "RESULTS.md");
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const REPEAT_UNDER_MS = Number(process.env.BENCH_REPEAT_UNDER_S ?? 20) * 1000;

const ANN = "acquisition/settings_annotations";
const TABLE = "intervals/pipeline_settings";
const TARGETS = { json: [`${ANN}/timestamps`], table: [`${TABLE}/id`], both: [`${ANN}/timestamps`, `${TABLE}/id`] };
const SINKS = { json: "annotations", table: "table", both: "annotations,table" };
const KINDS = ["json", "table", "both"];

const now = () => performance.timeOrigin + performance.now();
const log = (msg) => process.stderr.write(`${msg}\n`);

// ---------------------------------------------------------------- setup

function ensureVenv() {
  if (existsSync(PY)) {
    try {
      execFileSync(PY, ["-c", "import ezmsg.nwb, pynwb, h5py"], { stdio: "ignore" });
      return;
    } catch {
      log("bench/.venv-ref is incomplete; reinstalling");
    }
  }
  const python = process.env.BENCH_PYTHON ?? "python3";
  log(`creating bench/.venv-ref with ${python} from bench/requirements-reference.txt …`);
  execFileSync(python, ["-m", "venv", VENV], { stdio: "inherit" });
  execFileSync(PY, ["-m", "pip", "install", "-q", "-r", join(HERE, "requirements-reference.txt")], { stdio: "inherit" });
}

function versions() {
  const py = (code) => execFileSync(PY, ["-c", code], { encoding: "utf8" }).trim();
  const pkg = (name) => JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  const pyv = JSON.parse(
    py(
      "import json, sys, importlib.metadata as m, h5py; print(json.dumps({'python': sys.version.split()[0], 'hdf5': h5py.version.hdf5_version, " +
        "**{p: m.version(p) for p in ['ezmsg-nwb', 'ezmsg', 'ezmsg-baseproc', 'pynwb', 'hdmf', 'h5py', 'numpy']}}))",
    ),
  );
  // h5wasm does not export its HDF5 version; its build embeds the library's version banner.
  const h5wasmHdf5 =
    readFileSync(join(ROOT, "node_modules", "h5wasm", "dist", "node", "hdf5_util.js"), "latin1").match(/HDF5 library version: (\d+\.\d+\.\d+)/)?.[1] ?? "?";
  const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? cpus()[0]?.model ?? "?";
  let kernel = "?";
  try {
    kernel = execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim();
  } catch {}
  return {
    machine: { nproc: cpus().length, cpu: cpuModel, memoryGiB: totalmem() / 2 ** 30, kernel },
    node: process.version,
    h5wasm: pkg("h5wasm"),
    h5wasmHdf5,
    ...pyv,
  };
}

/** Peak RSS of an idle interpreter, and with everything a contender imports loaded (median of 3). */
function idleBaselines() {
  const median = (f) => {
    const xs = [f(), f(), f()].sort((a, b) => a - b);
    return xs[1];
  };
  const nodeRss = (code) => () => Number(execFileSync(process.execPath, ["--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8" }).trim());
  const pyRss = (code) => () =>
    Number(
      execFileSync(PY, ["-c", `${code}\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)`], { encoding: "utf8" })
        .trim()
        .split("\n")
        .pop(),
    );
  return {
    nodeIdle: median(nodeRss("console.log(process.resourceUsage().maxRSS)")),
    nodeLoaded: median(
      nodeRss(
        "await import('./dist/sinks/sink-set.js'); await import('./dist/producer/sources/jsonl-log.js'); const { loadHdf5 } = await import('./dist/nwb/hdf5/h5wasm.js'); await loadHdf5(); console.log(process.resourceUsage().maxRSS)",
      ),
    ),
    pythonIdle: median(pyRss("")),
    pythonLoaded: median(pyRss("import ezmsg.nwb.pipeline_settings, ezmsg.nwb.writer, ezmsg.baseproc")),
  };
}

// ---------------------------------------------------------------- running one contender

function lines(stream) {
  return createInterface({ input: stream, crlfDelay: Infinity });
}

/** Spawn the reader and resolve once it has imported h5py. */
async function startReader(path, datasets) {
  const reader = spawn(PY, [join(HERE, "poll_first_row.py"), path, datasets.join(","), String(BUDGET_S + 30)], { stdio: ["ignore", "pipe", "ignore"] });
  const it = lines(reader.stdout)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.value !== "ready") throw new Error("first-row reader did not start");
  const seen = (async () => {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const m = /^seen (\d+\.\d+)/.exec(r.value);
      if (m) return Number(m[1]) * 1000;
      if (r.value === "timeout") return undefined;
    }
    return undefined;
  })();
  return { reader, seen };
}

function outputsOf(path) {
  const out = [];
  for (let i = 0; i < 100; i++) {
    const p = i === 0 ? path : path.replace(/\.nwb$/, `_${String(i).padStart(2, "0")}.nwb`);
    if (existsSync(p)) out.push(p);
    else if (i > 0) break;
  }
  return out;
}

function removeOutputs(path) {
  for (const p of outputsOf(path)) rmSync(p, { force: true });
}

/** Rows in each dataset of `datasets` summed over all segments (read after the run, not timed). */
function countRows(paths, datasets) {
  if (paths.length === 0) return undefined;
  const code =
    "import sys, json, h5py\nout = {}\nfor p in sys.argv[2:]:\n  with h5py.File(p, 'r') as f:\n    for d in sys.argv[1].split(','):\n      out[d] = out.get(d, 0) + (f[d].shape[0] if d in f else 0)\nprint(json.dumps(out))";
  return JSON.parse(execFileSync(PY, ["-c", code, datasets.join(","), ...paths], { encoding: "utf8" }));
}

async function runContender(c, n) {
  const out = join(WORK, `${c.id}-${n}.nwb`);
  removeOutputs(out);
  const targets = TARGETS[c.kind];
  const { reader, seen } = await startReader(out, targets);
  const load = loadavg()[0];
  const [cmd, args] = c.command(n, out);
  const t0 = now();
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: CHILD_ENV });
  let stdout = "";
  let stderr = "";
  const trace = {};
  lines(child.stderr).on("line", (l) => {
    if (l.startsWith("nwb-settings-trace ")) {
      const m = JSON.parse(l.slice("nwb-settings-trace ".length));
      trace[m.mark] ??= m;
    } else stderr = `${stderr}${l}\n`.slice(-4000);
  });
  child.stdout.on("data", (d) => (stdout += d));
  let overBudget = false;
  const budgetS = c.budgetS ?? BUDGET_S;
  const timer = setTimeout(() => {
    overBudget = true;
    child.kill("SIGKILL");
  }, budgetS * 1000);
  const code = await new Promise((resolve) => child.on("exit", (c2, sig) => resolve(c2 ?? sig)));
  const tExit = now();
  await new Promise((resolve) => (child.stderr.readableEnded ? resolve() : child.stderr.on("close", resolve)));
  clearTimeout(timer);
  // Give the reader a moment after exit (its last poll may be in flight), then stop it.
  const tSeen = await Promise.race([seen, new Promise((r) => setTimeout(() => r(undefined), 3000))]);
  reader.kill("SIGTERM");
  const base = { id: c.id, side: c.side, kind: c.kind, n, load };
  if (overBudget) return { ...base, status: "budget", note: `killed after the ${budgetS} s budget` };
  let r;
  if (c.side === "ours") {
    // The installed bin: its marks come from NWB_SETTINGS_TRACE (src/app/trace.ts).
    const closed = trace.closed;
    if (code !== 0 || !closed) return { ...base, status: "error", note: `exit ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}` };
    const steady = trace["snapshot-written"];
    r = {
      events: closed.events,
      tStart: closed.epochMs - closed.ms, // process start
      tSteady: steady?.epochMs ?? closed.epochMs,
      tClosed: closed.epochMs,
      steadyEvents: n,
      tSinkMs: undefined,
      cpuMs: closed.cpuMs,
      cpuStartMs: 0,
      maxRssKiB: closed.maxRssKiB,
      endMemory: { rss: closed.rss, heapTotal: closed.heapTotal, external: closed.external, arrayBuffers: closed.arrayBuffers },
      firstAcceptedMs: trace["first-event-accepted"] ? trace["first-event-accepted"].epochMs - t0 : undefined,
      firstFlushedMs: trace["first-rows-flushed"] ? trace["first-rows-flushed"].epochMs - t0 : undefined,
    };
  } else {
    const last = stdout
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .pop();
    if (code !== 0 || !last) return { ...base, status: "error", note: `exit ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}` };
    r = JSON.parse(last);
  }
  const files = outputsOf(out);
  const rows = countRows(files, targets);
  return {
    ...base,
    status: "ok",
    out,
    files: files.length,
    events: r.events,
    rows,
    flushes: r.flushes,
    steadyEvents: r.steadyEvents,
    wallMs: tExit - t0,
    startupMs: r.tStart - t0,
    runMs: r.tClosed - r.tStart,
    steadyMs: r.tClosed - r.tSteady,
    sinkMs: r.tSinkMs,
    cpuMs: r.cpuMs, // the whole process, start-up included, for every contender
    firstAcceptedMs: r.firstAcceptedMs,
    firstFlushedMs: r.firstFlushedMs,
    endMemory: r.endMemory,
    ttfrMs: tSeen === undefined ? undefined : tSeen - t0,
    maxRssKiB: r.maxRssKiB,
    bytes: files.reduce((s, p) => s + statSync(p).size, 0),
  };
}

// ---------------------------------------------------------------- contenders

const eventsPath = (n) => join(WORK, `events-${n}.jsonl`);
const rowsDir = (kind, n) => join(WORK, `rows-${kind}-${n}`);

const BIN = join(ROOT, "bin", "nwb-settings.js");
const CONTENDERS = [
  // Ours is the installed command itself, as a user runs it (not npx; see README).
  ...KINDS.map((kind) => ({
    id: `ours-${kind}`,
    side: "ours",
    kind,
    command: (n, out) => [process.execPath, [BIN, "convert", eventsPath(n), "-o", out, "--sinks", SINKS[kind], "--time-origin", "raw", "--overwrite"]],
  })),
  ...KINDS.map((kind) => ({
    id: `floor-${kind}`,
    side: "floor",
    kind,
    needs: kind === "both" ? ["json", "table"] : [kind],
    command: (n, out) => [
      process.execPath,
      [
        join(HERE, "contender-floor.js"),
        out,
        String(kind === "table" ? 1 : COMPONENTS),
        (kind === "both" ? ["json", "table"] : [kind]).map((k) => rowsDir(k, n)).join(","),
      ],
    ],
  })),
  ...KINDS.map((kind) => ({
    id: `ref-${kind}`,
    side: "ref",
    kind,
    onlyAt: kind === "json" ? undefined : kind === "table" ? REF_TABLE_NS : process.env.BENCH_REF_BOTH ? REF_TABLE_NS : [],
    budgetS: kind === "json" ? undefined : REF_TABLE_BUDGET_S,
    command: (n, out) => [PY, [join(HERE, "contender_ref.py"), kind, eventsPath(n), out]],
  })),
];

/** Read + parse only (no sink): how much of a run is the input, per runtime. */
async function parseOnly(n) {
  const out = {};
  for (const [side, cmd, args] of [
    ["ours", process.execPath, [join(HERE, "contender-ours.js"), "none", eventsPath(n), "-"]],
    ["ref", PY, [join(HERE, "contender_ref.py"), "none", eventsPath(n), "-"]],
  ]) {
    const r = JSON.parse(
      execFileSync(cmd, args, { cwd: ROOT, encoding: "utf8" })
        .trim()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .pop(),
    );
    out[side] = { runMs: r.tClosed - r.tStart, maxRssKiB: r.maxRssKiB, events: r.events };
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main() {
  const tBench = Date.now();
  mkdirSync(WORK, { recursive: true });
  ensureVenv();
  log("versions, idle baselines …");
  const info = {
    versions: versions(),
    idle: idleBaselines(),
    ns: NS,
    budgetS: BUDGET_S,
    repeats: REPEATS,
    repeatUnderS: REPEAT_UNDER_MS / 1000,
    flushMs: FLUSH_MS,
    flushRows: FLUSH_ROWS,
    components: COMPONENTS,
    settingsPerComponent: SETTINGS_PER_COMPONENT,
    started: new Date().toISOString(),
  };
  const results = [];
  const parse = {};
  const loads = [];
  for (const n of NS) {
    const stream = await generateStream(eventsPath(n), n);
    log(`N=${n}: ${stream.events} events (${(statSync(eventsPath(n)).size / 2 ** 20).toFixed(1)} MiB JSONL)`);
    parse[n] = await parseOnly(n);
    for (const c of CONTENDERS) {
      if (ONLY && !ONLY.test(c.id)) continue;
      const base = { id: c.id, side: c.side, kind: c.kind, n };
      const skip = skipReason(c, n, results);
      if (skip) {
        results.push({ ...base, status: "skipped", note: skip });
        log(`  ${c.id.padEnd(12)} skipped: ${skip}`);
        continue;
      }
      const runs = [await runContender(c, n)];
      while (runs.length < REPEATS && runs.every((x) => x.status === "ok") && runs[0].wallMs < REPEAT_UNDER_MS) runs.push(await runContender(c, n));
      const r = medianOf(runs);
      results.push(r);
      loads.push(loadavg()[0]);
      log(
        `  ${c.id.padEnd(12)} ${r.status === "ok" ? `${((r.steadyEvents / r.steadyMs) * 1000).toFixed(0).padStart(7)} ev/s steady (×${r.repeats})  run ${(r.runMs / 1000).toFixed(2)} s  first row ${r.ttfrMs?.toFixed(0)} ms  RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB  ${(r.bytes / 2 ** 20).toFixed(1)} MiB  rows ${JSON.stringify(r.rows)}` : `${r.status}: ${r.note}`}`,
      );
      if (r.status === "ok" && c.side === "ours" && c.kind !== "both") {
        const group = c.kind === "json" ? ANN : TABLE;
        rmSync(rowsDir(c.kind, n), { recursive: true, force: true });
        execFileSync(PY, [join(HERE, "dump_rows.py"), r.out, rowsDir(c.kind, n), group], { stdio: "ignore" });
      }
    }
    if (!KEEP && n !== Math.min(...NS)) {
      for (const r of results) if (r.n === n && r.out) removeOutputs(r.out);
    }
    for (const k of ["json", "table"]) rmSync(rowsDir(k, n), { recursive: true, force: true });
  }
  const startup = nodeStartup();
  const batch = BATCH_LOGS > 0 ? await runBatch() : undefined;
  info.finished = new Date().toISOString();
  info.benchSeconds = (Date.now() - tBench) / 1000;
  info.maxLoad = Math.max(...loads, 0);
  writeFileSync(join(WORK, "results.json"), JSON.stringify({ info, parse, results, startup, batch }, null, 1));
  let md = renderReport({ info, parse, results, startup, batch });
  // #10: the data path, side by side in the same run (bench/data-path.js; BENCH_DATA_PATH=0 skips it)
  if (process.env.BENCH_DATA_PATH !== "0") {
    log("\ndata path (bench/data-path.js) …");
    const { runDataPathBench } = await import("./data-path.js");
    md += `\n${(await runDataPathBench({ log })).markdown}`;
  }
  writeFileSync(RESULTS, md);
  // in the repository's own format (biome aligns markdown tables; `npm test` checks it)
  try {
    execFileSync(process.execPath, [join(HERE, "..", "node_modules", "@biomejs", "biome", "bin", "biome"), "format", "--write", RESULTS], { stdio: "ignore" });
  } catch {
    log(`(could not format ${RESULTS} with biome; run \`npx biome format --write ${RESULTS}\`)`);
  }
  process.stdout.write(md);
  log(`\nwrote ${RESULTS} (${info.benchSeconds.toFixed(0)} s)`);
}

/** A bare Node process, spawn to exit (median of 5), without and with this machine's NODE_EXTRA_CA_CERTS. */
function nodeStartup() {
  const time = (env) => {
    const xs = [];
    for (let i = 0; i < 5; i++) {
      const t = now();
      execFileSync(process.execPath, ["-e", "0"], { env });
      xs.push(now() - t);
    }
    return xs.sort((a, b) => a - b)[2];
  };
  return { bareNodeMs: time(CHILD_ENV), bareNodeWithCaCertsMs: process.env.NODE_EXTRA_CA_CERTS ? time(process.env) : undefined };
}

/** Spawn, wait, return wall ms (spawn to exit), stdout and exit code. */
async function timed(cmd, args) {
  const t0 = now();
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...CHILD_ENV, NWB_SETTINGS_TRACE: "0" } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-2000)));
  const code = await new Promise((resolve) => child.on("exit", (c2, sig) => resolve(c2 ?? sig)));
  return { wallMs: now() - t0, stdout, stderr, code };
}

/**
 * A lab's backlog: BATCH_LOGS logs of BATCH_EVENTS events each. Ours: one `convert --out-dir`
 * call with --jobs at its default. Reference: one Python process converting the first
 * BATCH_REF_LOGS of the same logs (its per-file cost does not depend on the count), timed from
 * after its imports, so its start-up is not counted against it.
 */
async function runBatch() {
  const dir = join(WORK, "batch");
  const logsDir = join(dir, "logs");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(logsDir, { recursive: true });
  const logs = [];
  for (let i = 0; i < BATCH_LOGS; i++) {
    const p = join(logsDir, `log-${String(i).padStart(4, "0")}.jsonl`);
    await generateStream(p, BATCH_EVENTS - COMPONENTS - 1, { seed: 1000 + i });
    logs.push(p);
  }
  log(`batch: ${BATCH_LOGS} logs of ${BATCH_EVENTS} events`);
  const oursOut = join(dir, "ours");
  mkdirSync(oursOut, { recursive: true });
  const ours = await timed(process.execPath, [BIN, "convert", ...logs, "--out-dir", oursOut, "--time-origin", "raw", "--overwrite"]);
  const oursFiles = readdirSync(oursOut).filter((f) => f.endsWith(".nwb")).length;
  const refOut = join(dir, "ref");
  mkdirSync(refOut, { recursive: true });
  const refLogs = logs.slice(0, BATCH_REF_LOGS);
  const ref = await timed(PY, [join(HERE, "batch_ref.py"), refOut, ...refLogs]);
  const refLine = ref.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .pop();
  const refR = refLine ? JSON.parse(refLine) : undefined;
  const out = {
    logs: BATCH_LOGS,
    eventsPerLog: BATCH_EVENTS,
    jobs: cpus().length,
    ours: { code: ours.code, wallMs: ours.wallMs, files: oursFiles, note: ours.code === 0 ? undefined : ours.stderr.trim().split("\n").slice(-3).join(" | ") },
    ref: refR
      ? { files: refR.files, wallMs: ref.wallMs, convertMs: refR.tClosed - refR.tReady, events: refR.events }
      : { error: ref.stderr.trim().split("\n").slice(-3).join(" | ") },
  };
  log(
    `  ours: ${oursFiles} files in ${(ours.wallMs / 1000).toFixed(1)} s; reference: ${refR ? `${refR.files} files in ${((refR.tClosed - refR.tReady) / 1000).toFixed(1)} s after imports` : "failed"}`,
  );
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
  return out;
}

const MEDIAN_KEYS = ["wallMs", "startupMs", "runMs", "steadyMs", "sinkMs", "cpuMs", "ttfrMs", "maxRssKiB", "bytes", "firstAcceptedMs", "firstFlushedMs"];

/** One result from repeated runs: each metric's median (all runs must have succeeded). */
function medianOf(runs) {
  if (runs.length === 1 || runs.some((r) => r.status !== "ok")) return { ...runs[runs.length - 1], repeats: runs.length };
  const out = { ...runs[0], repeats: runs.length };
  for (const k of MEDIAN_KEYS) {
    const xs = runs
      .map((r) => r[k])
      .filter((x) => x !== undefined)
      .sort((a, b) => a - b);
    out[k] = xs.length ? xs[Math.floor((xs.length - 1) / 2)] : undefined;
    out[`${k}All`] = runs.map((r) => r[k]);
  }
  return out;
}

/** Skip when a run cannot fit the budget: no rows to replay, or the contender already failed it. */
function skipReason(c, n, results) {
  if (c.onlyAt && !c.onlyAt.includes(n)) {
    return c.onlyAt.length
      ? `measured at N=${c.onlyAt.map((x) => x.toLocaleString("en-US")).join(", ")} only (about 1 min per 1,000 events)`
      : "not run by default (BENCH_REF_BOTH=1)";
  }
  if (c.needs) {
    const missing = c.needs.filter((k) => !existsSync(join(rowsDir(k, n), "manifest.json")));
    if (missing.length) return `no rows to replay (ours-${missing.join("/ours-")} did not finish at this N)`;
  }
  const prev = c.onlyAt ? undefined : results.filter((r) => r.id === c.id && r.n < n).sort((a, b) => b.n - a.n)[0];
  if (!prev) return undefined;
  if (prev.status === "budget" || prev.status === "skipped")
    return `past the ${BUDGET_S} s budget (N=${prev.n.toLocaleString("en-US")} already ${prev.status === "budget" ? "exceeded it" : "was skipped"})`;
  if (prev.status === "ok" && (prev.runMs * n) / prev.n > BUDGET_S * 1000) {
    return `past the ${BUDGET_S} s budget: N=${prev.n.toLocaleString("en-US")} took ${(prev.runMs / 1000).toFixed(0)} s, so ${(n / prev.n).toFixed(0)}× the events cannot finish in time at that rate`;
  }
  return undefined;
}

await main();
