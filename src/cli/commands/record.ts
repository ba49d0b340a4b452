/** `nwb-settings record`: a live pipeline's settings to NWB until SIGINT/SIGTERM (docs/cli.md). */
import { mkdir } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { DEFAULT_HUB_PORT, RecordSession } from "../../app/record/record-session.js";
import type { ProducerScope } from "../../producer/producer.js";
import { type CommandContext, UsageError } from "../context.js";
import { loadMeta, sinksOption, untilSignal, warnIfNoSubject, withOutputOptions } from "../shared-options.js";
import { StatusLine, formatBytes } from "../status-line.js";

interface RecordArgs {
  source: string;
  out: string;
  sinks: string;
  meta?: string;
  overwrite: boolean;
  scope?: string;
  session?: string;
  "hub-port": number;
  "flush-interval": number;
}

export function scopeFrom(scope: string | undefined, session: string | undefined): ProducerScope {
  if (scope !== undefined && session !== undefined) throw new UsageError("give --scope or --session, not both");
  if (session !== undefined) return { session };
  if (scope !== undefined) {
    const components = scope.split(",").map((s) => s.trim()).filter(Boolean);
    if (components.length === 0) throw new UsageError("--scope needs at least one component address");
    return { components };
  }
  return "all";
}

export function recordCommand(ctx: CommandContext): CommandModule<object, RecordArgs> {
  return {
    command: "record",
    describe: "Record a live pipeline's settings into an NWB file until Ctrl-C",
    builder: (y) =>
      withOutputOptions(
        y
          .option("source", { type: "string", default: "embedded", describe: "embedded | ws://HOST:PORT (hub) | ezmsg://HOST:PORT (GraphServer; default address from EZMSG_GRAPHSERVER_ADDR)" })
          .option("out", { alias: "o", type: "string", demandOption: true, describe: "Output NWB file" })
          .option("scope", { type: "string", describe: "Only these component addresses (comma list)" })
          .option("session", { type: "string", describe: "Only the components of this session" })
          .option("hub-port", { type: "number", default: DEFAULT_HUB_PORT, describe: "Port of the embedded hub (127.0.0.1)" })
          .option("flush-interval", { type: "number", default: 500, describe: "Milliseconds between HDF5 flushes" }),
      ) as never,
    handler: async (args) => {
      const scope = scopeFrom(args.scope, args.session);
      const sinks = sinksOption(args.sinks);
      const meta = await loadMeta(args.meta);
      warnIfNoSubject(ctx, meta);
      const outPath = resolve(args.out);
      await mkdir(dirname(outPath), { recursive: true });
      const status = new StatusLine(ctx.stderr);
      const signal = untilSignal(ctx);
      const session = await RecordSession.start({
        source: args.source,
        outPath,
        sinks,
        meta,
        overwrite: args.overwrite,
        scope,
        hubPort: args["hub-port"],
        flushIntervalMs: args["flush-interval"],
        logger: { info: (m) => status.log(m), warn: (m) => status.log(`warning: ${m}`) },
        onError: (m) => status.log(`error: ${m}`),
      });
      ctx.stderr.write(`recording ${session.hub ? `the embedded hub at ${session.hub.url}` : session.sourceDescription} into ${outPath} (Ctrl-C to stop)\n`);
      const ticker = setInterval(() => {
        void session.outputBytes().then((bytes) => {
          const s = session.recorder.stats;
          status.show(`${s.events} events · last ${s.lastComponent ?? "–"} · ${basename(session.recorder.currentPath)} ${formatBytes(bytes)}`);
        });
      }, 500);
      try {
        const how = await Promise.race([signal.promise, session.finished.then(() => "source ended" as const)]);
        const stats = await session.stop();
        status.clear();
        ctx.stdout.write(`stopped (${how}): ${stats.events} events recorded${stats.rejected ? `, ${stats.rejected} rejected` : ""}\n`);
        for (const p of stats.outputs) ctx.stdout.write(`  ${p}\n`);
        if (stats.outputs.length === 0) ctx.stdout.write("  no settings were recorded, no file written\n");
      } catch (err) {
        status.clear(); // the failure (it names the file) is printed on a clean line
        throw err;
      } finally {
        clearInterval(ticker);
        signal.dispose();
      }
    },
  };
}
