/** Render bench results (bench/work/results.json) as bench/RESULTS.md. */

const KIND_LABEL = { json: "JSON rows", table: "typed columns", both: "both sinks, one file" };
const KINDS = ["json", "table", "both"];
const SIDES = ["ours", "ref", "floor"];

const int = (x) => Math.round(x).toLocaleString("en-US");
const num = (x, d = 1) => x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const ratio = (x) => (x === undefined || !Number.isFinite(x) ? "—" : x >= 100 ? `${int(x)}×` : x >= 10 ? `${num(x, 1)}×` : `${num(x, 2)}×`);
const mib = (kib) => num(kib / 1024, 0);

function pick(results, side, kind, n) {
  return results.find((r) => r.side === side && r.kind === kind && r.n === n);
}

function cell(r, f) {
  if (!r) return "—";
  if (r.status === "skipped") return "skipped¹";
  if (r.status === "budget") return "over budget¹";
  if (r.status !== "ok") return "error²";
  const v = f(r);
  return v === undefined ? "n/a" : v;
}

const val = (r, f) => (r && r.status === "ok" ? f(r) : undefined);
/** Steady state: the N updates, from just after the startup snapshot is on disk to a closed file. */
const rate = (r) => (r.steadyEvents / r.steadyMs) * 1000;
/** Whole process: every event, from spawning the process (start-up, imports, file creation) to its exit. */
const runRate = (r) => (r.events / r.wallMs) * 1000;
/** Whole process per CPU-second (user + system), less sensitive to load. */
const cpuRate = (r) => (r.events / r.cpuMs) * 1000;
const sinkRate = (r) => (r.sinkMs ? (r.events / r.sinkMs) * 1000 : undefined);

/** One metric as a table: N, kind, ours/ref/floor, and two ratios. */
function metricTable(results, ns, { fmt, get, ratios }) {
  const head = ["N", "written as", "ours", "reference", "floor", ...ratios.map((r) => r.label)];
  const rows = [head, head.map((_, i) => (i < 2 ? "---" : "---:"))];
  for (const n of ns) {
    for (const kind of KINDS) {
      const [o, r, f] = SIDES.map((s) => pick(results, s, kind, n));
      const vals = { ours: val(o, get), ref: val(r, get), floor: val(f, get) };
      const show = (x) => {
        const g = get(x);
        return g === undefined || !Number.isFinite(g) ? undefined : fmt(g);
      };
      rows.push([int(n), KIND_LABEL[kind], cell(o, show), cell(r, show), cell(f, show), ...ratios.map((q) => ratio(q.f(vals)))]);
    }
  }
  return rows.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function growthTable(results, ns) {
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  const head = [
    "contender",
    ...ns.map((n) => `ev/s N=${int(n)}`),
    `ev/s ${int(hi)} ÷ ${int(lo)}`,
    ...ns.map((n) => `RSS MiB N=${int(n)}`),
    `RSS ${int(hi)} ÷ ${int(lo)}`,
    "bytes/event (largest N run)",
  ];
  const rows = [head, head.map((_, i) => (i === 0 ? "---" : "---:"))];
  for (const side of SIDES) {
    for (const kind of KINDS) {
      const rs = ns.map((n) => pick(results, side, kind, n));
      if (rs.every((r) => !r)) continue;
      const a = rs[0];
      const b = rs[rs.length - 1];
      const last = [...rs].reverse().find((r) => r?.status === "ok");
      const name = `${{ ours: "ours", ref: "reference", floor: "floor" }[side]}: ${KIND_LABEL[kind]}`;
      rows.push([
        name,
        ...rs.map((r) => cell(r, (x) => int(rate(x)))),
        ratio(val(b, rate) / val(a, rate)),
        ...rs.map((r) => cell(r, (x) => mib(x.maxRssKiB))),
        ratio(val(b, (x) => x.maxRssKiB) / val(a, (x) => x.maxRssKiB)),
        last ? `${int(last.bytes / last.events)} (N=${int(last.n)})` : "—",
      ]);
    }
  }
  return rows.map((r) => `| ${r.join(" | ")} |`).join("\n");
}

function targets(results, ns, { startup, batch }) {
  const out = [];
  const row = (name, measured, holds, other = "—") =>
    out.push(`| ${name} | ${measured || "not measured"} | ${other} | ${measured ? (holds ? "**holds**" : "**fails**") : "unknown"} |`);
  const r = (side, kind, n, g) => val(pick(results, side, kind, n), g);
  const at = (n, v, f = ratio) => (v === undefined || !Number.isFinite(v) ? undefined : `N=${int(n)}: ${f(v)}`);
  const ratioCheck = (name, kind, wantAt, side = "ours") => {
    const parts = [];
    let holds = true;
    for (const [n, w] of wantAt) {
      const v = r(side, kind, n, runRate) / r("ref", kind, n, runRate);
      const text = at(n, v);
      if (!text) continue;
      parts.push(`${text} (goal ${w}×)`);
      holds &&= v >= w;
    }
    const other = wantAt
      .map(([n]) => [
        n,
        r(side, kind, n, cpuRate) / r("ref", kind, n, cpuRate),
        r(side, kind, n, rate) / r("ref", kind, n, rate),
        r("floor", kind, n, runRate) / r(side, kind, n, runRate),
      ])
      .filter(([, c]) => Number.isFinite(c))
      .map(([n, c, st, fl]) => `N=${int(n)}: per CPU-s ${ratio(c)}, steady state ${ratio(st)}, floor ÷ ours ${ratio(fl)}`)
      .join("; ");
    row(name, parts.join("; "), holds && parts.length === wantAt.length, other || "—");
  };
  ratioCheck(
    "JSON rows, whole process: ≥ 10× the reference at 20k events, ≥ 20× at 100k",
    "json",
    [
      [20000, 10],
      [100000, 20],
    ].filter(([n]) => ns.includes(n)),
  );
  ratioCheck(
    "typed columns, whole process: ≥ 50× the reference at 2k events",
    "table",
    [[2000, 50]].filter(([n]) => ns.includes(n)),
  );
  {
    const vs = ns.flatMap((n) => KINDS.map((k) => [n, k, r("ours", k, n, (x) => x.firstAcceptedMs)])).filter(([, , v]) => v !== undefined);
    const worst = Math.max(...vs.map(([, , v]) => v));
    row(
      "start-up: process start to first event accepted ≤ 150 ms",
      vs.length ? `${int(Math.min(...vs.map(([, , v]) => v)))}–${int(worst)} ms over all runs (median per run)` : "",
      worst <= 150,
      startup
        ? `bare \`node -e 0\`: ${int(startup.bareNodeMs)} ms${startup.bareNodeWithCaCertsMs ? ` (${int(startup.bareNodeWithCaCertsMs)} ms with this machine's NODE_EXTRA_CA_CERTS)` : ""}`
        : "—",
    );
  }
  for (const kind of KINDS) {
    const parts = ns.map((n) => at(n, r("ref", kind, n, (x) => x.ttfrMs) / r("ours", kind, n, (x) => x.ttfrMs))).filter(Boolean);
    const vals = ns.map((n) => r("ref", kind, n, (x) => x.ttfrMs) / r("ours", kind, n, (x) => x.ttfrMs)).filter((v) => Number.isFinite(v));
    row(
      `${KIND_LABEL[kind]}: first row readable by h5py ≥ 20× sooner than the reference`,
      parts.join("; "),
      vals.every((v) => v >= 20),
    );
  }
  for (const kind of KINDS) {
    const pts = [1000, 100000].filter((n) => ns.includes(n)).map((n) => [n, r("ours", kind, n, (x) => x.maxRssKiB / 1024)]);
    const m = pts.filter(([, v]) => v !== undefined);
    row(
      `${KIND_LABEL[kind]}: peak RSS ≤ 100 MiB at 1k and at 100k events`,
      m.map(([n, v]) => `N=${int(n)}: ${num(v, 0)} MiB`).join("; "),
      m.length === pts.length && m.every(([, v]) => v <= 100),
    );
  }
  if (batch?.ours && batch.ref?.files) {
    const oursRate = batch.ours.files / (batch.ours.wallMs / 1000);
    const refRate = batch.ref.files / (batch.ref.convertMs / 1000);
    row(
      `batch of ${int(batch.logs)} logs × ${int(batch.eventsPerLog)} events: ≥ 20× the reference's files/s`,
      `${ratio(oursRate / refRate)} (${num(oursRate, 1)} vs ${num(refRate, 1)} files/s)`,
      oursRate / refRate >= 20,
    );
  }
  return ["| target | measured | other views | verdict |", "| --- | --- | --- | --- |", ...out].join("\n");
}

function startupTable(results, ns) {
  const rows = [
    "| N | written as | first event accepted | first rows flushed | first row readable (h5py) | whole process |",
    "| ---: | --- | ---: | ---: | ---: | ---: |",
  ];
  const ms = (x) => (x === undefined ? "—" : `${int(x)} ms`);
  for (const n of ns) {
    for (const kind of KINDS) {
      const o = pick(results, "ours", kind, n);
      if (o?.status !== "ok") continue;
      rows.push(`| ${int(n)} | ${KIND_LABEL[kind]} | ${ms(o.firstAcceptedMs)} | ${ms(o.firstFlushedMs)} | ${ms(o.ttfrMs)} | ${ms(o.wallMs)} |`);
    }
  }
  return rows.join("\n");
}

function batchSection(batch) {
  if (!batch) return "Not run (BENCH_BATCH_LOGS=0).";
  const o = batch.ours;
  const r = batch.ref;
  const oursRate = o.files / (o.wallMs / 1000);
  const refRate = r.files ? r.files / (r.convertMs / 1000) : undefined;
  return `${int(batch.logs)} logs of ${int(batch.eventsPerLog)} events each (the bench stream with another seed per log), JSON rows.
*Ours*: one \`nwb-settings convert LOGS… --out-dir DIR\` call, \`--jobs\` at its default (${batch.jobs}, the CPU count),
timed from spawn to exit. *Reference*: one Python process converting the first ${int(r.files ?? 0)} of the same logs
with ezmsg-nwb's JSON-row consumer, timed from after its imports (its start-up is not counted; its cost per
file does not depend on how many files it converts).

| | files | seconds | files per second |
| --- | ---: | ---: | ---: |
| ours | ${int(o.files)}${o.code === 0 ? "" : ` (exit ${o.code}: ${o.note})`} | ${num(o.wallMs / 1000, 1)} | ${num(oursRate, 1)} |
| reference | ${r.files ? int(r.files) : `failed: ${r.error}`} | ${r.files ? num(r.convertMs / 1000, 1) : "—"} | ${refRate ? num(refRate, 1) : "—"} |
| ours ÷ reference | | | ${refRate ? ratio(oursRate / refRate) : "—"} |`;
}

export function renderReport({ info, parse, results, startup, batch }) {
  const ns = info.ns;
  const v = info.versions;
  const idle = info.idle;
  const notes = results.filter((r) => r.status !== "ok").map((r) => `- ${r.id} at N=${int(r.n)}: ${r.status} — ${r.note}`);
  const parseRows = ns
    .filter((n) => parse[n])
    .map(
      (n) =>
        `| ${int(n)} | ${int((parse[n].ours.events / parse[n].ours.runMs) * 1000)} | ${int((parse[n].ref.events / parse[n].ref.runMs) * 1000)} | ${mib(parse[n].ours.maxRssKiB)} | ${mib(parse[n].ref.maxRssKiB)} |`,
    );
  return `# Benchmark results

Generated by \`npm run bench\` (bench/run.js) on ${info.started.slice(0, 16).replace("T", " ")} UTC, ${num(info.benchSeconds / 60, 1)} min. Method: [docs/benchmarks.md](../docs/benchmarks.md).
One child process per contender and N. Runs shorter than ${num(info.repeatUnderS, 0)} s were repeated (${info.repeats}× in all) and each metric
is the median; longer runs are single. The machine is shared (highest 1-minute load average seen:
${num(info.maxLoad, 2)} on ${info.versions.machine.nproc} CPUs), so treat wall-clock differences below ~20% as noise; the per-CPU-second
table is the steadier view.

**Stream:** ${info.components} components × ${info.settingsPerComponent} settings (float, int, bool, 2 strings, float[4], int[8], nested int + string),
an INITIAL snapshot (${info.components} events + the \`__init_final__\` sentinel), then N UPDATED events, each carrying its
component's full settings. One JSONL file per N, read by every contender.
**Contenders:** *ours* = the installed command, \`node bin/nwb-settings.js convert LOG -o OUT --sinks … --time-origin raw\`
(whole process, run without this machine's \`NODE_EXTRA_CA_CERTS\`, see the start-up section); *reference* = ezmsg-nwb ${v["ezmsg-nwb"]}
(\`NWBSinkConsumer.write_annotation\` / \`NWBPipelineSettingsSinkConsumer.write_settings_event\`, both for "both");
*floor* = the same rows' bytes appended with raw h5wasm calls, no NWB, no event logic, no parsing.
**Flush policy**: ours is convert's own (logs of 1 MiB or more: after the startup snapshot, then every 500 ms or 1,024
staged rows; smaller logs every 1,024 rows and at close); the floor flushes its first rows at once, then every ${int(info.flushRows)} rows.
**Budget:** ${info.budgetS} s per contender per N.

## Events per second
**Steady state** (the throughput verdicts use this): the N UPDATED events, from just after the
startup snapshot is written (file created, first rows flushed) to a closed file, *including* reading
and parsing the JSONL (every contender reads the same file). Higher is better.

${metricTable(results, ns, {
  fmt: int,
  get: rate,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

### Whole process
Every event, from spawning the process (interpreter start-up, imports, file creation included) to
its exit: what a user waits for. At small N this is dominated by start-up.

${metricTable(results, ns, {
  fmt: int,
  get: runRate,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

### Per CPU-second
Whole-process events per second of CPU time (user + system) of the contender's process: the same work
measured in a way that other load on the machine disturbs much less.

${metricTable(results, ns, {
  fmt: int,
  get: cpuRate,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

### Sink-only events per second
Time spent inside the sink calls only (ours: not measured since ours is the whole command; reference: construction,
\`flatten_for_table\` + \`write_annotation\`, \`write_settings_event\`, \`close\`; floor: everything it does).

${metricTable(results, ns, {
  fmt: int,
  get: sinkRate,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

## Start-up (ours)
From spawning \`nwb-settings convert\` (marks from \`NWB_SETTINGS_TRACE=1\`): the first event accepted by the
sinks (read, validated, taken by every sink; INITIALs are held by the sinks until the snapshot ends), the first
rows flushed to the file, and the first row seen by h5py.

${startupTable(results, ns)}

${startup ? `A bare \`node -e 0\` takes ${int(startup.bareNodeMs)} ms here${startup.bareNodeWithCaCertsMs ? `, and ${int(startup.bareNodeWithCaCertsMs)} ms with this machine's \`NODE_EXTRA_CA_CERTS\` (Node parses the whole CA bundle at start-up when it is set; the contenders run without it)` : ""}.` : ""}

## Batch: many small logs

${batchSection(batch)}

## Time to first readable row (ms)
From spawning the contender's process until a separate h5py reader (already started, polling every
5 ms) opens the file and sees ≥ 1 row in every table/series the contender writes. Includes
interpreter start-up and imports. Lower is better.

${metricTable(results, ns, {
  fmt: int,
  get: (r) => r.ttfrMs,
  ratios: [
    { label: "ref ÷ ours (× sooner)", f: (x) => x.ref / x.ours },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

## Peak memory (RSS, MiB)
Peak RSS of the contender's own process (Node \`process.resourceUsage().maxRSS\`, Python
\`getrusage(RUSAGE_SELF).ru_maxrss\`). Lower is better. Interpreter baselines (median of 3): Node idle
${mib(idle.nodeIdle)} MiB, Node with our modules and h5wasm loaded ${mib(idle.nodeLoaded)} MiB; Python idle ${mib(idle.pythonIdle)} MiB,
Python with ezmsg-nwb imported ${mib(idle.pythonLoaded)} MiB.

${metricTable(results, ns, {
  fmt: (k) => mib(k),
  get: (r) => r.maxRssKiB,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

Above the loaded-interpreter baseline (peak − baseline, MiB):

${metricTable(results, ns, {
  fmt: (k) => num(k / 1024, 0),
  get: (r) => r.maxRssKiB - (r.side === "ref" ? idle.pythonLoaded : idle.nodeLoaded),
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

### Where the memory is (Node contenders, end of run, MiB)
RSS at exit, V8 heap (total), external + array buffers, and the wasm heap (HDF5's memory, which
only grows).

${memTable(results, ns)}

## File size (MiB)
Lower is better.

${metricTable(results, ns, {
  fmt: (b) => num(b / 2 ** 20, 2),
  get: (r) => r.bytes,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

## Growth with N

${growthTable(results, ns)}

## Targets

${targets(results, ns, { startup, batch })}

## Input share: read + parse only
The same JSONL read and turned into events with no sink (ours: \`readEventLog\`, our lossless JSON
parser; reference: \`json.loads\` + \`PipelineSettingsEvent\`).

| N | ours ev/s | reference ev/s | ours RSS MiB | reference RSS MiB |
| --- | ---: | ---: | ---: | ---: |
${parseRows.join("\n")}

## Notes
${notes.length ? notes.join("\n") : "- every contender ran at every N"}
- ¹ skipped / over budget: not run (or killed) because it cannot finish within the ${info.budgetS} s budget; nothing is extrapolated.
- Rows written (checked with h5py after each run): ${rowsSummary(results)}

## Machine and versions
- ${v.machine.nproc} CPUs (${v.machine.cpu}), ${num(v.machine.memoryGiB, 1)} GiB RAM, ${v.machine.kernel}
- Node ${v.node}, h5wasm ${v.h5wasm} (HDF5 ${v.h5wasmHdf5})
- Python ${v.python}, ezmsg-nwb ${v["ezmsg-nwb"]}, ezmsg ${v.ezmsg}, ezmsg-baseproc ${v["ezmsg-baseproc"]}, pynwb ${v.pynwb}, hdmf ${v.hdmf}, h5py ${v.h5py} (HDF5 ${v.hdf5}), numpy ${v.numpy}
`;
}

function memTable(results, ns) {
  const rows = ["| contender | N | RSS at exit | V8 heap | external | wasm heap | peak RSS |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"];
  const m = (b) => (b === undefined ? "—" : num(b / 2 ** 20, 0));
  for (const side of ["ours", "floor"]) {
    for (const kind of KINDS) {
      for (const n of ns) {
        const r = pick(results, side, kind, n);
        if (r?.status !== "ok" || !r.endMemory) continue;
        const e = r.endMemory;
        rows.push(`| ${side}: ${KIND_LABEL[kind]} | ${int(n)} | ${m(e.rss)} | ${m(e.heapTotal)} | ${m(e.external)} | ${m(e.wasmHeap)} | ${mib(r.maxRssKiB)} |`);
      }
    }
  }
  return rows.join("\n");
}

function rowsSummary(results) {
  const parts = [];
  for (const r of results) {
    if (r.status !== "ok" || !r.rows) continue;
    parts.push(`${r.id}@${int(r.n)} ${Object.values(r.rows).map(int).join("/")}`);
  }
  return parts.join(", ");
}
