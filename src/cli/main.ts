/**
 * The `nwb-settings` command line. Each command lives in its own module under ./commands; this
 * file only assembles them and turns failures into exit codes.
 */
import yargs, { type Argv } from "yargs";
import { convertCommand } from "./commands/convert.js";
import { demoCommand } from "./commands/demo.js";
import { hubCommand } from "./commands/hub.js";
import { metaCommand } from "./commands/meta.js";
import { recordCommand } from "./commands/record.js";
import { recoverCommand } from "./commands/recover.js";
import { restoreCommand } from "./commands/restore.js";
import { showCommand } from "./commands/show.js";
import { type CommandContext, UsageError } from "./context.js";
import { checkRawArguments } from "./option-checks.js";

export async function main(argv: string[]): Promise<number> {
  const ctx: CommandContext = { exitCode: 0, stdout: process.stdout, stderr: process.stderr };
  let parser: Argv = yargs(argv)
    .scriptName("nwb-settings")
    .usage("$0 <command> [options]\n\nRecord every settings change of a running pipeline into NWB files.")
    .strict()
    .demandCommand(1, "Name a command (see the list above).")
    .recommendCommands()
    .help()
    .alias("h", "help")
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  parser = parser
    .command(demoCommand(ctx))
    .command(recordCommand(ctx))
    .command(hubCommand(ctx))
    .command(convertCommand(ctx))
    .command(recoverCommand(ctx))
    .command(metaCommand(ctx))
    .command(showCommand(ctx))
    .command(restoreCommand(ctx));
  skipHelpCache(parser);
  try {
    checkRawArguments(argv);
    await parser.parseAsync();
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.stderr.write(`nwb-settings: ${err.message}\nRun "nwb-settings --help" for usage.\n`);
      return 2;
    }
    ctx.stderr.write(`nwb-settings: ${(err as Error).message}\n`);
    return 1;
  }
  return ctx.exitCode;
}

/**
 * yargs renders a command's whole help text right after starting its handler, to have it at hand
 * should the handler fail. We never show help on a failure (`.fail` throws; main prints one line),
 * and the rendering (string widths, wrapping) cost ~40 ms of CPU on the way to the first event.
 * `--help` still renders it when asked. A yargs without this internal hook keeps its behaviour.
 */
function skipHelpCache(parser: Argv): void {
  const internal = parser as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = internal.getInternalMethods?.()?.getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === "function") usage.cacheHelpMessage = () => undefined;
}
