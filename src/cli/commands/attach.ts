/** `nwb-settings attach`: put settings into existing NWB recordings, safely and on their clock (docs/attach.md). */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import type { CommandModule } from "yargs";
import { attachBatch } from "../../app/attach/attach-batch.js";
import type { AttachResult } from "../../app/attach/attach-recording.js";
import { type AttachPair, parseManifest, parseShard, shardOf } from "../../app/attach/manifest.js";
import { parseSinkList } from "../../sinks/sink-set.js";
import { type CommandContext, UsageError } from "../context.js";
import { ProgressBar } from "../progress.js";

interface AttachArgs {
  recording?: string;
  settings?: string;
  manifest?: string;
  shard?: string;
  jobs?: number;
  sinks: string;
  "table-name"?: string;
  "annotation-name"?: string;
  offset: number;
}

/** Set to print phase markers (`attach-phase PHASE RECORDING`) on stderr: used by the crash and lock tests. */
const TRACE_ENV = "NWB_SETTINGS_ATTACH_TRACE";

export function attachCommand(ctx: CommandContext): CommandModule<object, AttachArgs> {
  return {
    command: "attach [recording] [settings]",
    describe: "Add settings (a JSONL log, a journal, or an NWB file of ours) to existing NWB recordings, on their clock, never risking them",
    builder: (y) =>
      y
        .positional("recording", { type: "string", describe: "The NWB recording to add the settings to" })
        .positional("settings", { type: "string", describe: "JSONL event log, record's journal, or an NWB file written by record/convert" })
        .option("manifest", { type: "string", describe: 'File of "recording,settings" lines (relative to its folder) to attach in one run' })
        .option("shard", {
          type: "string",
          describe: "K/N: attach only the K-th (0-based) of N slices of the manifest (Slurm arrays, Kubernetes indexed Jobs)",
        })
        .option("jobs", { alias: "j", type: "number", describe: "Attaches in flight at once (default: CPU count)" })
        .option("sinks", { type: "string", default: "annotations", describe: "Comma list of sinks: annotations, table" })
        .option("table-name", { type: "string", describe: "Name of the typed table in /intervals (default pipeline_settings)" })
        .option("annotation-name", {
          type: "string",
          describe: "Name of the AnnotationSeries in /acquisition (default: each event's table_name, settings_annotations)",
        })
        .option("offset", {
          type: "number",
          default: 0,
          describe: "Seconds added to every settings time (a settings clock known to differ from the recording's)",
        })
        .check((a) => {
          const single = a.recording !== undefined || a.settings !== undefined;
          if (single && a.manifest !== undefined) throw new UsageError("give RECORDING SETTINGS or --manifest FILE, not both");
          if (!single && a.manifest === undefined) throw new UsageError("give RECORDING SETTINGS, or --manifest FILE of recording,settings lines");
          if (single && (a.recording === undefined || a.settings === undefined)) throw new UsageError("attach needs two paths: RECORDING.nwb SETTINGS");
          if (a.shard !== undefined && a.manifest === undefined) throw new UsageError("--shard slices a --manifest");
          if (a.shard !== undefined) {
            try {
              parseShard(a.shard);
            } catch (err) {
              throw new UsageError((err as Error).message);
            }
          }
          if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1))
            throw new UsageError("--jobs needs a whole number of at least 1 (e.g. --jobs 2)");
          if (typeof a.offset !== "number" || !Number.isFinite(a.offset)) throw new UsageError("--offset needs a number of seconds (e.g. --offset -0.25)");
          for (const [k, v] of [
            ["--table-name", a["table-name"]],
            ["--annotation-name", a["annotation-name"]],
          ] as const) {
            if (v !== undefined && (v === "" || v.includes("/") || v === "." || v === ".."))
              throw new UsageError(`${k} needs one NWB object name (no "/"), got ${JSON.stringify(v)}`);
          }
          return true;
        }) as never,
    handler: async (args) => {
      let sinks: ReturnType<typeof parseSinkList>;
      try {
        sinks = parseSinkList(args.sinks);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      let pairs: AttachPair[];
      const lineProblems: string[] = [];
      if (args.manifest !== undefined) {
        let text: string;
        try {
          text = await readFile(args.manifest, "utf8");
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          throw new UsageError(
            `cannot read the manifest ${args.manifest}: ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : (err as Error).message}`,
          );
        }
        const m = parseManifest(text, args.manifest);
        pairs = m.pairs;
        lineProblems.push(...m.problems);
        if (args.shard !== undefined) {
          const [k, n] = parseShard(args.shard);
          pairs = shardOf(pairs, k, n);
          ctx.stderr.write(`shard ${k}/${n}: ${pairs.length} of ${m.pairs.length} pair(s)\n`);
        }
      } else {
        pairs = [{ recording: args.recording!, settings: args.settings!, where: "command line" }];
      }
      const trace = process.env[TRACE_ENV] !== undefined;
      const progress = new ProgressBar(pairs.length, ctx.stderr);
      for (const p of lineProblems) progress.log(p);
      const abort = new AbortController();
      const onSignal = (sig: NodeJS.Signals): void => {
        if (abort.signal.aborted) return;
        progress.log(`${sig}: stopping; recordings not yet replaced are left as they were`);
        abort.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      let results: AttachResult[];
      try {
        results = await attachBatch(
          pairs,
          {
            sinks,
            offset: args.offset,
            ...(args["table-name"] === undefined ? {} : { tableName: args["table-name"] }),
            ...(args["annotation-name"] === undefined ? {} : { annotationName: args["annotation-name"] }),
          },
          {
            jobs: args.jobs ?? availableParallelism(),
            signal: abort.signal,
            onPhase: (pair, phase) => {
              if (trace) ctx.stderr.write(`attach-phase ${phase} ${pair.recording}\n`);
            },
            onResult: (r) => {
              for (const l of r.leftoversRemoved)
                progress.log(`${r.recording}: removed ${l}, left by an interrupted attach (the recording itself was never changed by it)`);
              for (const p of r.problems) progress.log(p);
              progress.tick(r.status === "attached", r.recording);
            },
          },
        );
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      const failed = printSummary(ctx, results) + lineProblems.length;
      if (lineProblems.length > 0) ctx.stdout.write(`${lineProblems.length} manifest line(s) not understood (listed above)\n`);
      ctx.exitCode = abort.signal.aborted ? 130 : failed > 0 ? 1 : 0;
    },
  };
}

const LABEL: Record<AttachResult["status"], string> = { attached: "OK     ", partial: "PARTIAL", refused: "REFUSED", failed: "FAILED ", empty: "EMPTY  " };

function printSummary(ctx: CommandContext, results: AttachResult[]): number {
  let failed = 0;
  for (const r of results) {
    if (r.status !== "attached" && r.status !== "empty") failed++;
    const objects = Object.entries(r.added)
      .map(([p, n]) => `/${p}: ${n} rows`)
      .join(", ");
    const detail =
      r.status === "attached" || r.status === "partial"
        ? `${r.events} events -> ${objects}${r.problems.length ? `; ${r.problems.length} problem(s) listed above` : ""}`
        : (r.message ?? "");
    ctx.stdout.write(`${LABEL[r.status]} ${r.recording} <- ${r.settings}: ${detail}\n`);
  }
  ctx.stdout.write(`${results.length} recording(s): ${results.length - failed} ok, ${failed} not attached\n`);
  return failed;
}
