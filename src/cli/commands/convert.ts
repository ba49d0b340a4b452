/** `nwb-settings convert`: JSONL event logs → NWB files (docs/cli.md). */
import { randomUUID } from "node:crypto";
import { MAX_LINE_BYTES } from "../../events/jsonl-lines.js";
import { availableParallelism, totalmem } from "node:os";
import { mkdir } from "node:fs/promises";
import { getHeapStatistics } from "node:v8";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import type { ConvertResult } from "../../app/convert/convert-log.js";
import { runConvertPool } from "../../app/convert/convert-pool.js";
import { checkPaths } from "../../app/convert/output-paths.js";
import { parseSinkList } from "../../sinks/sink-set.js";
import { TIME_ORIGINS, type TimeOrigin } from "../../app/convert/time-origin.js";
import { DEFAULT_SESSION_DESCRIPTION, type NwbMetadata, loadMetadataFile } from "../../nwb/metadata.js";
import { type CommandContext, UsageError } from "../context.js";
import { ProgressBar } from "../progress.js";
import { warnDandiGaps } from "../shared-options.js";

interface ConvertArgs {
  inputs: string[];
  out?: string;
  "out-dir"?: string;
  sinks: string;
  "time-origin": TimeOrigin;
  meta?: string;
  overwrite: boolean;
  jobs?: number;
  "max-memory"?: number;
  "dandi-names": boolean;
}

/** A DANDI file-name entity value: letters, digits and "-" (anything else becomes "-"). */
function dandiEntity(text: string): string {
  return text.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "x";
}

/**
 * DANDI's layout for --out-dir (what `dandi organize` makes): `sub-<subject_id>/sub-<subject_id>_ses-<session>.nwb`.
 * The session is the metadata's session_id, or the log's name without one; with several logs and
 * one session_id, `<session_id>-<log name>`, so that no two inputs share a file.
 */
export function dandiNameFor(input: string, outDir: string, meta: NwbMetadata, inputs: number): string {
  const id = meta.subject?.subject_id;
  if (!id) throw new UsageError("--dandi-names needs subject.subject_id in --meta (`nwb-settings meta init` writes a template)");
  const sub = dandiEntity(id);
  const stem = basename(input, extname(input));
  const session = meta.session_id === undefined ? stem : inputs > 1 ? `${meta.session_id}-${stem}` : meta.session_id;
  return join(outDir, `sub-${sub}`, `sub-${sub}_ses-${dandiEntity(session)}.nwb`);
}

/** Output path for an input inside --out-dir: the log's name with `.nwb`. */
export function outputNameFor(input: string, outDir: string): string {
  const ext = extname(input);
  return join(outDir, `${basename(input, ext === ".nwb" ? "" : ext)}.nwb`);
}

/** Workers that can help: no more than the inputs, the CPUs, and what memory holds at the heap limit. */
export function usableJobs(requested: number, inputs: number, heapLimitMb: number): number {
  const byMemory = Math.max(1, Math.floor((totalmem() * 0.75) / (heapLimitMb * 1024 * 1024)));
  return Math.max(1, Math.min(requested, inputs, availableParallelism(), byMemory));
}

/** Longest line a worker reads: 64 MiB, or a quarter of its heap when that is smaller (a line is held and parsed at once). */
export function lineLimitFor(heapLimitMb: number): number {
  return Math.min(MAX_LINE_BYTES, Math.floor(heapLimitMb / 4) * 1024 * 1024);
}

/** Default heap limit per worker: half the machine's memory shared by the workers, 256 MiB … 4 GiB. */
export function defaultHeapLimitMb(jobs: number): number {
  return Math.min(4096, Math.max(256, Math.floor(totalmem() / 2 / jobs / (1024 * 1024))));
}

export function convertCommand(ctx: CommandContext): CommandModule<object, ConvertArgs> {
  return {
    command: "convert <inputs..>",
    describe: "Convert JSONL event logs into NWB files (one file per log)",
    builder: (y) =>
      y
        .positional("inputs", { type: "string", array: true, demandOption: true, describe: "JSONL event logs" })
        .option("out", { alias: "o", type: "string", describe: "Output NWB file (one input only)" })
        .option("out-dir", { type: "string", describe: "Directory for one NWB file per input" })
        .option("sinks", { type: "string", default: "annotations", describe: "Comma list of sinks: annotations, table" })
        .option("time-origin", {
          choices: TIME_ORIGINS,
          default: "first-event" as TimeOrigin,
          describe: "raw: store timestamps unchanged; first-event: seconds since the earliest event",
        })
        .option("meta", { type: "string", describe: "Session metadata file (YAML or JSON)" })
        .option("overwrite", { type: "boolean", default: false, describe: "Replace existing output files" })
        .option("jobs", { alias: "j", type: "number", describe: "Inputs converted in parallel (default: CPU count; never more than the inputs or CPUs)" })
        .option("max-memory", {
          type: "number",
          describe: "Heap limit of each worker in MiB (default: half the memory shared by the workers, 256–4096); an input that needs more fails alone",
        })
        .option("dandi-names", {
          type: "boolean",
          default: false,
          describe: "With --out-dir: name files as DANDI does, sub-<subject_id>/sub-<subject_id>_ses-<session_id or log name>.nwb",
        })
        .check((a) => {
          for (const input of a.inputs) {
            if (input === "-") throw new UsageError("reading a log from standard input (-) is not supported; give the log's file path");
            if (input === "") throw new UsageError("an input path is empty");
          }
          if ((a.out === undefined) === (a["out-dir"] === undefined)) throw new UsageError("give exactly one of --out FILE or --out-dir DIR");
          if (a.out !== undefined && a.inputs.length !== 1) throw new UsageError("--out takes one input; use --out-dir for several");
          if (a.jobs !== undefined && (typeof a.jobs !== "number" || !Number.isInteger(a.jobs) || a.jobs < 1))
            throw new UsageError("--jobs needs a whole number of at least 1 (e.g. --jobs 2)");
          const mm = a["max-memory"];
          if (mm !== undefined && (typeof mm !== "number" || !Number.isInteger(mm) || mm < 64))
            throw new UsageError("--max-memory needs a whole number of MiB, at least 64");
          if (a.out === "" || a["out-dir"] === "") throw new UsageError("the output path is empty");
          if (a["dandi-names"] && a["out-dir"] === undefined) throw new UsageError("--dandi-names names files inside --out-dir DIR");
          return true;
        }) as never,
    handler: async (args) => {
      const sinks = parseSinkOption(args.sinks);
      const meta: NwbMetadata = args.meta ? await loadMetadataFile(args.meta) : { session_description: DEFAULT_SESSION_DESCRIPTION };
      const outputs = args.inputs.map((input) =>
        resolve(args.out ?? (args["dandi-names"] ? dandiNameFor(input, args["out-dir"]!, meta, args.inputs.length) : outputNameFor(input, args["out-dir"]!))),
      );
      await checkPaths(args.inputs, outputs, args.meta, sinks.includes("table"));
      for (const outDir of new Set(outputs.map((o) => dirname(o)))) {
        await mkdir(outDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
          throw new Error(
            `cannot create the output folder ${outDir}: ${err.code === "EEXIST" || err.code === "ENOTDIR" ? "a file of that name is in the way" : err.code === "EACCES" ? "permission denied" : err.message}`,
          );
        });
      }
      // Only for a call that will run: a refused one prints its one reason, not advice besides.
      warnDandiGaps(ctx, meta, args.meta);
      const requested = args.jobs ?? availableParallelism();
      let heapLimitMb = args["max-memory"] ?? defaultHeapLimitMb(Math.min(requested, args.inputs.length));
      const parallel = usableJobs(requested, args.inputs.length, heapLimitMb);
      if (args.jobs !== undefined && parallel < args.jobs)
        ctx.stderr.write(`note: --jobs ${args.jobs} capped at ${parallel} (inputs, CPUs and memory allow no more)\n`);
      if (args["max-memory"] === undefined) heapLimitMb = defaultHeapLimitMb(parallel);
      // One input at a time without --max-memory converts in this thread (no worker start-up);
      // its line limit then follows this thread's own heap.
      const inThread = parallel === 1 && args["max-memory"] === undefined;
      if (inThread) heapLimitMb = Math.min(heapLimitMb, Math.floor(getHeapStatistics().heap_size_limit / (1024 * 1024)));
      const run = randomUUID().slice(0, 8);
      const jobs = args.inputs.map((input, i) => ({
        input,
        output: outputs[i]!,
        options: { sinks, timeOrigin: args["time-origin"], meta, overwrite: args.overwrite, tag: `nwbs-${run}-${i}`, maxLineBytes: lineLimitFor(heapLimitMb) },
      }));
      const progress = new ProgressBar(jobs.length, ctx.stderr);
      const abort = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        if (abort.signal.aborted) return;
        progress.log(`${sig}: stopping; finished outputs stay, unfinished ones are removed`);
        abort.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      let results: ConvertResult[];
      try {
        results = await runConvertPool(jobs, {
          parallel,
          heapLimitMb,
          inThread,
          signal: abort.signal,
          onProgress: (input, done, total) => progress.progress(input, done, total),
          onResult: (r) => {
            for (const p of r.problems) progress.log(p);
            if (r.error) progress.log(`${r.input}: ${r.error}`);
            progress.tick(!r.error && r.problems.length === 0, r.input);
          },
        });
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      const failed = printSummary(ctx, args.inputs, results);
      ctx.exitCode = abort.signal.aborted ? 130 : failed > 0 ? 1 : 0;
    },
  };
}

/** `--sinks` as a usage error when it names no known sink. */
function parseSinkOption(text: string) {
  try {
    return parseSinkList(text);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function printSummary(ctx: CommandContext, inputs: string[], results: ConvertResult[]): number {
  const byInput = new Map(results.map((r) => [r.input, r]));
  let failed = 0;
  for (const input of inputs) {
    const r = byInput.get(input);
    if (!r || r.error) {
      failed++;
      ctx.stdout.write(`FAILED  ${input}: ${r?.error ?? "not converted"}\n`);
    } else if (r.outputs.length === 0) {
      if (r.problems.length > 0) failed++;
      ctx.stdout.write(
        `${r.problems.length ? "FAILED" : "EMPTY "}  ${input}: no settings rows, no file written${r.problems.length ? ` (${r.problems.length} bad line(s))` : ""}\n`,
      );
    } else {
      if (r.problems.length > 0) failed++;
      const status = r.problems.length > 0 ? "PARTIAL" : "OK     ";
      const extra = r.problems.length > 0 ? `, ${r.problems.length} bad line(s) skipped` : "";
      ctx.stdout.write(`${status} ${input} -> ${r.outputs.join(", ")} (${r.events} events${extra})\n`);
    }
  }
  ctx.stdout.write(`${inputs.length} input(s): ${inputs.length - failed} ok, ${failed} failed\n`);
  return failed;
}
