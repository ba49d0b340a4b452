/** `nwb-settings convert`: JSONL event logs → NWB files (docs/cli.md). */
import { availableParallelism } from "node:os";
import { mkdir } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import type { CommandModule } from "yargs";
import type { ConvertResult } from "../../app/convert/convert-log.js";
import { runConvertPool } from "../../app/convert/convert-pool.js";
import { parseSinkList } from "../../sinks/sink-set.js";
import { TIME_ORIGINS, type TimeOrigin } from "../../app/convert/time-origin.js";
import { DEFAULT_SESSION_DESCRIPTION, type NwbMetadata, loadMetadataFile } from "../../nwb/metadata.js";
import { type CommandContext, UsageError } from "../context.js";
import { ProgressBar } from "../progress.js";
import { warnIfNoSubject } from "../shared-options.js";

interface ConvertArgs {
  inputs: string[];
  out?: string;
  "out-dir"?: string;
  sinks: string;
  "time-origin": TimeOrigin;
  meta?: string;
  overwrite: boolean;
  jobs?: number;
}

/** Output path for an input inside --out-dir: the log's name with `.nwb`. */
export function outputNameFor(input: string, outDir: string): string {
  const ext = extname(input);
  return join(outDir, `${basename(input, ext === ".nwb" ? "" : ext)}.nwb`);
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
        .option("time-origin", { choices: TIME_ORIGINS, default: "first-event" as TimeOrigin, describe: "raw: store timestamps unchanged; first-event: seconds since the earliest event" })
        .option("meta", { type: "string", describe: "Session metadata file (YAML or JSON)" })
        .option("overwrite", { type: "boolean", default: false, describe: "Replace existing output files" })
        .option("jobs", { alias: "j", type: "number", describe: "Inputs converted in parallel (default: CPU count)" })
        .check((a) => {
          if ((a.out === undefined) === (a["out-dir"] === undefined)) throw new UsageError("give exactly one of --out FILE or --out-dir DIR");
          if (a.out !== undefined && a.inputs.length !== 1) throw new UsageError("--out takes one input; use --out-dir for several");
          if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1)) throw new UsageError("--jobs must be a whole number of at least 1");
          return true;
        }) as never,
    handler: async (args) => {
      const sinks = parseSinkList(args.sinks);
      const meta: NwbMetadata = args.meta ? await loadMetadataFile(args.meta) : { session_description: DEFAULT_SESSION_DESCRIPTION };
      warnIfNoSubject(ctx, meta);
      const outputs = args.inputs.map((input) => resolve(args.out ?? outputNameFor(input, args["out-dir"]!)));
      const dupes = outputs.filter((o, i) => outputs.indexOf(o) !== i);
      if (dupes.length > 0) throw new UsageError(`two inputs would write the same output: ${[...new Set(dupes)].join(", ")}`);
      await mkdir(args["out-dir"] ?? dirname(outputs[0]!), { recursive: true });
      const options = { sinks, timeOrigin: args["time-origin"], meta, overwrite: args.overwrite };
      const jobs = args.inputs.map((input, i) => ({ input, output: outputs[i]!, options }));
      const progress = new ProgressBar(jobs.length, ctx.stderr);
      const results = await runConvertPool(jobs, args.jobs ?? availableParallelism(), (r) => {
        for (const p of r.problems) progress.log(p);
        if (r.error) progress.log(`${r.input}: ${r.error}`);
        progress.tick(!r.error && r.problems.length === 0, r.input);
      });
      const failed = printSummary(ctx, args.inputs, results);
      ctx.exitCode = failed > 0 ? 1 : 0;
    },
  };
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
      ctx.stdout.write(`${r.problems.length ? "FAILED" : "EMPTY "}  ${input}: no settings rows, no file written${r.problems.length ? ` (${r.problems.length} bad line(s))` : ""}\n`);
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
