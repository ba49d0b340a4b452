/** `nwb-settings recover JOURNAL`: check a recording against its journal, rebuild it when needed. */
import { basename } from "node:path";
import type { CommandModule } from "yargs";
import { type RecoverCheck, RecoverRefusedError, type RecoverResult, describeState, recoverRecording } from "../../app/recover/recover.js";
import { type CommandContext, UsageError } from "../context.js";

interface RecoverArgs {
  journal: string;
  out?: string;
  overwrite: boolean;
  check: boolean;
}

export function recoverCommand(ctx: CommandContext): CommandModule<object, RecoverArgs> {
  return {
    command: "recover <journal>",
    describe: "Check an NWB recording against its journal (<file>.nwb.journal.jsonl) and rebuild it when it is damaged or behind",
    builder: (y) =>
      y
        .positional("journal", { type: "string", demandOption: true, describe: "The journal written beside the NWB file" })
        .option("out", { alias: "o", type: "string", describe: "Write the rebuilt recording here (default: the journal's NWB file)" })
        .option("overwrite", { type: "boolean", default: false, describe: "Replace existing files" })
        .option("check", {
          type: "boolean",
          default: false,
          describe: "Only check (rows and every value against the journal); write nothing; exit 0 when complete, 1 otherwise",
        })
        .check((a) => {
          if (a.check && (a.out !== undefined || a.overwrite)) throw new UsageError("--check only reads; it takes neither --out nor --overwrite");
          return true;
        }) as never,
    handler: async (args) => {
      let result: RecoverResult;
      try {
        result = await recoverRecording(args.journal, { out: args.out, overwrite: args.overwrite, checkOnly: args.check });
      } catch (err) {
        if (err instanceof RecoverRefusedError) {
          printCheck(ctx, err.check);
          ctx.stderr.write(`nwb-settings: not rebuilt: ${err.message}\n`);
          ctx.exitCode = 1;
          return;
        }
        throw err;
      }
      printCheck(ctx, result);
      if (result.action === "rebuilt") {
        ctx.stdout.write(`rebuilt ${result.outputs.join(", ")} from ${result.events} journaled events\n`);
      } else if (args.check) {
        ctx.exitCode = result.state === "complete" ? 0 : 1;
      } else {
        ctx.stdout.write("nothing to do\n");
      }
    },
  };
}

function printCheck(ctx: CommandContext, c: RecoverCheck): void {
  const out = ctx.stdout;
  out.write(
    `journal ${c.journal}: ${c.events} event${c.events === 1 ? "" : "s"}, sinks ${c.header.sinks.join(",")}, ` +
      `${c.cleanClose ? `closed cleanly at ${c.closeTime} s` : `no clean close (recording ended by a crash; intervals close at the last event, ${c.closeTime} s)`}\n`,
  );
  if (c.torn) out.write(`journal line ${c.torn.line} was torn by the crash (${c.torn.bytes} bytes, ${c.torn.problem}) and is ignored: it was never durable\n`);
  if (c.samples) {
    out.write(
      `sample journal ${c.samples.journal}: ${c.samples.chunks} chunk${c.samples.chunks === 1 ? "" : "s"}, ${c.samples.rows} samples; the files hold ${c.samples.fileRows}\n`,
    );
    if (c.samples.torn)
      out.write(`sample journal ends in a record torn by the crash at byte ${c.samples.torn.offset} (${c.samples.torn.problem}); it was never acknowledged\n`);
  }
  for (const p of c.problems) ctx.stderr.write(`${p} (rejected by the sinks, as when it was recorded)\n`);
  for (const s of c.segments) {
    out.write(`  ${basename(s.path)}: ${s.state}${s.detail ? ` (${s.detail})` : ""}\n`);
  }
  out.write(`${c.header.nwbPath}: ${describeState(c)}\n`);
}
