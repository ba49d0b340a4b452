/** `nwb-settings restore FILE --at T --to TARGET`: put a running pipeline back into the settings state a recording says was in effect at T. */
import type { CommandModule } from "yargs";
import { stringifyJson, type JsonValue } from "../../events/json.js";
import { type RestoreReport, restore } from "../../app/restore/restore.js";
import { showValue } from "../../app/restore/plan.js";
import { parseTimeArg } from "../../app/show/wall-clock.js";
import { type CommandContext, UsageError } from "../context.js";

interface RestoreArgs {
  file: string;
  at: string;
  to: string;
  "dry-run": boolean;
  format: string;
  timeout: number;
}

export function restoreCommand(ctx: CommandContext): CommandModule<object, RestoreArgs> {
  return {
    command: "restore <file>",
    describe: "Push the settings state in effect at file time --at back into a running pipeline (ezmsg GraphServer or hub); --dry-run shows the plan",
    builder: (y) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "A recording (its segments <stem>_01.nwb, … are read too)" })
        .option("at", {
          type: "string",
          demandOption: true,
          describe: "The time whose state to restore: seconds of file time (12.5), wall clock HH:MM:SS[.ffffff] or an ISO date-time (as show --at)",
        })
        .option("to", {
          type: "string",
          demandOption: true,
          describe: "ezmsg://HOST:PORT (a GraphServer; bare ezmsg:// = EZMSG_GRAPHSERVER_ADDR) or ws://HOST:PORT (a hub)",
        })
        .option("dry-run", { type: "boolean", default: false, describe: "Show what would change; send nothing" })
        .option("format", { type: "string", default: "text", choices: ["text", "json"], describe: "Report format" })
        .option("timeout", { type: "number", default: 5, describe: "Seconds the pipeline may take to apply one change, and to show all changes afterwards" })
        .check((a) => {
          parseAt(a.at);
          if (!/^(ezmsg|ws|wss):\/\//.test(a.to)) {
            throw new UsageError(
              `--to ${JSON.stringify(a.to)} is not a pipeline to restore into; give ezmsg://HOST:PORT (a GraphServer) or ws://HOST:PORT (a hub)`,
            );
          }
          if (!(a.timeout > 0 && a.timeout <= 600)) throw new UsageError(`--timeout must be between 0 and 600 seconds, got ${a.timeout}`);
          return true;
        }) as never,
    handler: async (args) => {
      const r = await restore(args.file, {
        at: args.at,
        to: args.to,
        dryRun: args["dry-run"],
        fieldTimeoutSeconds: args.timeout,
        verifyTimeoutMs: args.timeout * 1000,
      });
      ctx.stdout.write(args.format === "json" ? `${stringifyJson(reportToJson(r))}\n` : reportText(r));
      ctx.exitCode = r.complete ? 0 : 1;
    },
  };
}

/** A file time for people: at most 6 decimals (µs). */
function seconds(t: number): string {
  return String(Number(t.toFixed(6)));
}

/**
 * Refuse an `--at` that is no time at all before anything is read (a wall-clock time is resolved
 * later, with the file's reference time): checked against a stand-in reference time.
 */
function parseAt(text: unknown): void {
  if (typeof text !== "string" || text.trim() === "") throw new UsageError(`--at must be a time, got ${JSON.stringify(text)}`);
  const t = parseTimeArg(text, "2000-01-01T00:00:00+00:00", { start: 0, end: 0 });
  if (!Number.isFinite(t)) throw new UsageError(`--at ${text}: not a finite time`);
}

function reportText(r: RestoreReport): string {
  const lines: string[] = [];
  const nComp = r.plan.components.length;
  lines.push(`${r.dryRun ? "plan: " : ""}restore ${r.file} at ${r.at} s into ${r.target}: state of ${nComp} component${nComp === 1 ? "" : "s"}`);
  for (const c of r.plan.components) {
    if (c.status !== "present") {
      lines.push(`${c.component}: could not be set: ${c.reason}`);
      continue;
    }
    const outcome = r.outcomes.get(c.component);
    const matched = c.fields.filter((f) => f.kind === "match").length;
    const other = c.fields.filter((f) => f.kind !== "match");
    lines.push(
      `${c.component} (state from ${seconds(c.time)} s): ${other.length === 0 ? `all ${matched} settings already match` : `${matched} already match`}`,
    );
    for (const f of other) {
      if (f.kind === "cannot") {
        lines.push(`  ${f.path}: could not be set: ${f.reason}${f.from !== undefined ? ` (pipeline ${showValue(f.from)}, file ${showValue(f.to)})` : ""}`);
      } else if (f.kind === "change") {
        const o = outcome?.get(f.path);
        const status = o?.status === "planned" ? "would change" : o?.status === "changed" ? "changed" : o?.status === "not-applied" ? "NOT APPLIED" : "FAILED";
        lines.push(`  ${f.path}: ${showValue(f.from)} → ${showValue(f.to)}  ${status}${o?.error ? `: ${o.error}` : ""}`);
      }
    }
    if (c.extraFields.length > 0) lines.push(`  not in the file, left as they are: ${c.extraFields.join(", ")}`);
  }
  if (r.plan.notInFile.length > 0) lines.push(`not in the file at ${r.at} s, left as they are: ${r.plan.notInFile.join(", ")}`);
  const k = r.counts;
  const parts = r.dryRun ? [`${k.planned} would change`] : [`${k.changed} changed`];
  parts.push(`${k.matched} already matched`, `${k.cannot} could not be set`);
  if (k.gone > 0) parts.push(`${k.gone} component${k.gone === 1 ? "" : "s"} could not be set`);
  if (k.failed > 0) parts.push(`${k.failed} failed`);
  if (k.notApplied > 0) parts.push(`${k.notApplied} not applied`);
  lines.push(`${r.dryRun ? "dry run, nothing sent: " : ""}${parts.join(", ")}`);
  return `${lines.join("\n")}\n`;
}

/** The report as JSON (values in our lossless JSON: 2.0 stays 2.0). */
export function reportToJson(r: RestoreReport): JsonValue {
  const m = (o: Record<string, JsonValue | undefined>): Map<string, JsonValue> =>
    new Map(Object.entries(o).filter((e): e is [string, JsonValue] => e[1] !== undefined));
  return m({
    file: r.file,
    files: r.files,
    target: r.target,
    at: r.at,
    dry_run: r.dryRun,
    complete: r.complete,
    counts: m({
      changed: BigInt(r.counts.changed),
      planned: BigInt(r.counts.planned),
      matched: BigInt(r.counts.matched),
      cannot: BigInt(r.counts.cannot),
      failed: BigInt(r.counts.failed),
      not_applied: BigInt(r.counts.notApplied),
      components_not_set: BigInt(r.counts.gone),
    }),
    components: r.plan.components.map((c) =>
      m({
        component: c.component,
        status: c.status,
        reason: c.reason,
        time: c.time,
        recorded: c.recorded,
        extra_fields: c.extraFields,
        fields: c.fields.map((f) => {
          if (f.kind === "match") return m({ path: f.path, result: "matched", value: f.value });
          if (f.kind === "cannot") return m({ path: f.path, result: "cannot", from: f.from, to: f.to, reason: f.reason });
          const o = r.outcomes.get(c.component)?.get(f.path);
          return m({ path: f.path, result: o?.status ?? "failed", from: f.from, to: f.to, error: o?.error });
        }),
      }),
    ),
    not_in_file: r.plan.notInFile,
  });
}
