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
/** Whole run: every event, from constructing the sink (file creation included) to a closed file. */
const runRate = (r) => (r.events / r.runMs) * 1000;
/** Whole run per CPU-second of the contender's process (user + system), less sensitive to load. */
const cpuRate = (r) => (r.events / r.cpuMs) * 1000;
const sinkRate = (r) => (r.events / r.sinkMs) * 1000;

/** One metric as a table: N, kind, ours/ref/floor, and two ratios. */
function metricTable(results, ns, { fmt, get, ratios }) {
  const head = ["N", "written as", "ours", "reference", "floor", ...ratios.map((r) => r.label)];
  const rows = [head, head.map((_, i) => (i < 2 ? "---" : "---:"))];
  for (const n of ns) {
    for (const kind of KINDS) {
      const [o, r, f] = SIDES.map((s) => pick(results, s, kind, n));
      const vals = { ours: val(o, get), ref: val(r, get), floor: val(f, get) };
      rows.push([
        int(n),
        KIND_LABEL[kind],
        cell(o, (x) => fmt(get(x))),
        cell(r, (x) => fmt(get(x))),
        cell(f, (x) => fmt(get(x))),
        ...ratios.map((q) => ratio(q.f(vals))),
      ]);
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

function targets(results, ns) {
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  const out = [];
  const check = (name, pairs, want, also = []) => {
    const ok = (v) => v !== undefined && Number.isFinite(v);
    const measured = pairs.filter((p) => ok(p.v));
    const holds = measured.length > 0 && measured.every((p) => want(p.v));
    const text = measured.map((p) => `${p.at}: ${ratio(p.v)}`).join("; ") || "not measured";
    const missing = pairs.filter((p) => !ok(p.v)).map((p) => p.at);
    const extra = also
      .map(({ label, pairs: ps }) => {
        const m = ps.filter((p) => ok(p.v));
        return m.length ? `${label}: ${m.map((p) => `${p.at} ${ratio(p.v)}`).join(", ")}` : "";
      })
      .filter(Boolean)
      .join("; ");
    out.push(
      `| ${name} | ${text}${missing.length ? ` (not measurable: ${missing.join(", ")})` : ""} | ${extra || "—"} | ${measured.length === 0 ? "unknown" : holds ? "**holds**" : "**fails**"} |`,
    );
  };
  const per = (f) => ns.map((n) => ({ at: `N=${int(n)}`, v: f(n) }));
  const r = (side, kind, n, g) => val(pick(results, side, kind, n), g);
  const views = (a, b, f) => [
    { label: "whole run", pairs: per((n) => f(r(a[0], a[1], n, runRate), r(b[0], b[1], n, runRate))) },
    { label: "per CPU-s", pairs: per((n) => f(r(a[0], a[1], n, cpuRate), r(b[0], b[1], n, cpuRate))) },
    { label: "sink-only", pairs: per((n) => f(r(a[0], a[1], n, sinkRate), r(b[0], b[1], n, sinkRate))) },
  ];
  const div = (x, y) => x / y;
  check(
    "typed-column sink ≥ 50× the reference's events/s",
    per((n) => r("ours", "table", n, rate) / r("ref", "table", n, rate)),
    (v) => v >= 50,
    views(["ours", "table"], ["ref", "table"], div),
  );
  check(
    "JSON-row sink ≥ 20× the reference's events/s",
    per((n) => r("ours", "json", n, rate) / r("ref", "json", n, rate)),
    (v) => v >= 20,
    views(["ours", "json"], ["ref", "json"], div),
  );
  for (const kind of ["json", "table", "both"]) {
    check(
      `${KIND_LABEL[kind]}: within 2× of the h5wasm floor (floor ev/s ÷ ours)`,
      per((n) => r("floor", kind, n, rate) / r("ours", kind, n, rate)),
      (v) => v <= 2,
      views(["floor", kind], ["ours", kind], div),
    );
  }
  for (const kind of ["json", "table", "both"]) {
    check(
      `${KIND_LABEL[kind]}: first readable row ≥ 20× sooner than the reference`,
      per((n) => r("ref", kind, n, (x) => x.ttfrMs) / r("ours", kind, n, (x) => x.ttfrMs)),
      (v) => v >= 20,
    );
  }
  for (const kind of ["json", "table", "both"]) {
    check(
      `${KIND_LABEL[kind]}: peak RSS flat in N (N=${int(hi)} ≤ 1.2× N=${int(lo)})`,
      [{ at: `${int(hi)} ÷ ${int(lo)}`, v: r("ours", kind, hi, (x) => x.maxRssKiB) / r("ours", kind, lo, (x) => x.maxRssKiB) }],
      (v) => v <= 1.2,
    );
  }
  return ["| target | measured (steady state; time and memory as measured) | other views | verdict |", "| --- | --- | --- | --- |", ...out].join("\n");
}

export function renderReport({ info, parse, results }) {
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
**Contenders:** *ours* = our sinks through \`SinkSet\` (the \`convert\` path); *reference* = ezmsg-nwb ${v["ezmsg-nwb"]}
(\`NWBSinkConsumer.write_annotation\` / \`NWBPipelineSettingsSinkConsumer.write_settings_event\`, both for "both");
*floor* = the same rows' bytes appended with raw h5wasm calls, no NWB, no event logic, no parsing.
**Flush policy** (ours and floor): first rows flushed at once, then every ${info.flushMs} ms or ${int(info.flushRows)} staged rows.
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

### Whole run
Every event, from constructing the sink (so file creation and the first write are included) to a
closed file. At N = 1,000 this is dominated by the one-off cost of creating the file.

${metricTable(results, ns, {
  fmt: int,
  get: runRate,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

### Per CPU-second
Whole-run events per second of CPU time (user + system) of the contender's process: the same work
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
Time spent inside the sink calls only (ours: \`write\`/\`flush\`/\`close\`; reference: construction,
\`flatten_for_table\` + \`write_annotation\`, \`write_settings_event\`, \`close\`; floor: everything it does).

${metricTable(results, ns, {
  fmt: int,
  get: sinkRate,
  ratios: [
    { label: "ours ÷ ref", f: (x) => x.ours / x.ref },
    { label: "ours ÷ floor", f: (x) => x.ours / x.floor },
  ],
})}

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

${targets(results, ns)}

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
  const m = (b) => num(b / 2 ** 20, 0);
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
