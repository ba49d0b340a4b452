/**
 * The `nwb-settings` command line. Each command lives in its own module under ./commands; this
 * file only assembles them and turns failures into exit codes.
 */
import yargs, { type Argv, type CommandModule } from "yargs";
import { type CommandContext, UsageError } from "./context.js";
import { checkRawArguments } from "./raw-arguments.js";

/**
 * The package's version, set by the bundler (scripts/bundle.mjs, which also keeps yargs from
 * searching the working directory's parents for a package.json); unbundled, yargs finds ours.
 */
declare const __NWBS_VERSION__: string | undefined;
const VERSION = typeof __NWBS_VERSION__ === "string" ? __NWBS_VERSION__ : undefined;

type CommandFactory = (ctx: CommandContext) => CommandModule<object, never>;

/**
 * Every command, in help order, by the name it is called with. A command's module (and whatever it
 * needs: HDF5 writers, the hub, the ezmsg client, YAML) is imported only when that command runs,
 * so `convert` does not read, compile and initialise the code of `record` or `show` (the bundle is
 * split per command, scripts/bundle.mjs). Help without a command loads them all.
 */
export const COMMANDS: Record<string, () => Promise<CommandFactory>> = {
  demo: async () => (await import("./commands/demo.js")).demoCommand as CommandFactory,
  record: async () => (await import("./commands/record.js")).recordCommand as CommandFactory,
  hub: async () => (await import("./commands/hub.js")).hubCommand as CommandFactory,
  convert: async () => (await import("./commands/convert.js")).convertCommand as CommandFactory,
  recover: async () => (await import("./commands/recover.js")).recoverCommand as CommandFactory,
  meta: async () => (await import("./commands/meta.js")).metaCommand as CommandFactory,
  show: async () => (await import("./commands/show.js")).showCommand as CommandFactory,
  restore: async () => (await import("./commands/restore.js")).restoreCommand as CommandFactory,
  attach: async () => (await import("./commands/attach.js")).attachCommand as CommandFactory,
};

/** The commands to register for `argv`: just the named one when the first argument names one. */
async function commandsFor(argv: readonly string[], ctx: CommandContext): Promise<CommandModule<object, never>[]> {
  const first = argv[0];
  const names = first !== undefined && Object.hasOwn(COMMANDS, first) ? [first] : Object.keys(COMMANDS);
  const factories = await Promise.all(names.map((n) => COMMANDS[n]!()));
  return factories.map((f) => f(ctx));
}

export async function main(argv: string[]): Promise<number> {
  const ctx: CommandContext = { exitCode: 0, stdout: process.stdout, stderr: process.stderr };
  let parser: Argv = yargs(argv)
    .scriptName("nwb-settings")
    .usage("$0 <command> [options]\n\nRecord every settings change of a running pipeline into NWB files.")
    .strict()
    .demandCommand(1, "Name a command (see the list above).")
    .recommendCommands()
    .help()
    .alias("h", "help");
  parser = (VERSION === undefined ? parser.version() : parser.version(VERSION))
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    checkRawArguments(argv);
    for (const c of await commandsFor(argv, ctx)) parser = parser.command(c);
    skipHelpCache(parser);
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
