/**
 * `nwb-settings demo`: the embedded hub, a simulated pipeline whose settings change, and a
 * recording of both sinks, with a summary of what was written. The README's first command.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { DemoPipeline } from "../../app/demo/demo-pipeline.js";
import { RecordSession } from "../../app/record/record-session.js";
import { describeNwb } from "../../nwb/describe.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { HubServer } from "../../producer/hub/hub-server.js";
import { type CommandContext, UsageError } from "../context.js";
import { untilSignal } from "../shared-options.js";
import { formatBytes } from "../status-line.js";

interface DemoArgs {
  out: string;
  seconds: number;
  overwrite: boolean;
}

const DEMO_META: NwbMetadata = {
  session_description: "nwb-settings demo: settings of a simulated pipeline (no animal, no neural data)",
  experiment_description: "Four simulated components publish settings to the embedded hub and change them every 200 ms.",
  keywords: ["nwb-settings", "demo", "pipeline settings"],
  subject: { subject_id: "simulated", sex: "U", description: "No animal: a simulated pipeline (sex U = unknown)" },
};

export function demoCommand(ctx: CommandContext): CommandModule<object, DemoArgs> {
  return {
    command: "demo",
    describe: "Record a simulated pipeline from the embedded hub into an NWB file (try this first)",
    builder: (y) =>
      y
        .option("out", { alias: "o", type: "string", default: "demo.nwb", describe: "Output NWB file" })
        .option("seconds", { type: "number", default: 5, describe: "How long the simulated pipeline runs" })
        .option("overwrite", { type: "boolean", default: true, describe: "Replace an earlier demo file" }) as never,
    handler: async (args) => {
      if (!(args.seconds > 0)) throw new UsageError("--seconds must be positive");
      const outPath = resolve(args.out);
      await mkdir(dirname(outPath), { recursive: true });
      const signal = untilSignal(ctx);
      const hub = await HubServer.start({ port: 0 });
      let pipeline: DemoPipeline | undefined;
      try {
        pipeline = await DemoPipeline.start(hub.url);
        const session = await RecordSession.start({
          source: hub.url,
          outPath,
          sinks: ["annotations", "table"],
          meta: DEMO_META,
          overwrite: args.overwrite,
          onError: (m) => ctx.stderr.write(`error: ${m}\n`),
        });
        ctx.stderr.write(`demo: recording a simulated pipeline from the embedded hub (${hub.url}) for ${args.seconds} s…\n`);
        pipeline.run(200);
        let timer: NodeJS.Timeout | undefined;
        // session.finished settles early only when the recording failed: then stop with its error
        await Promise.race([signal.promise, session.finished, new Promise((r) => (timer = setTimeout(r, args.seconds * 1000)))]);
        clearTimeout(timer);
        await pipeline.stop();
        pipeline = undefined;
        const stats = await session.stop();
        ctx.stdout.write(`recorded ${stats.events} settings events (the startup snapshot, then every change) into:\n`);
        for (const path of stats.outputs) {
          const size = (await stat(path)).size;
          ctx.stdout.write(`  ${path} (${formatBytes(size)})\n`);
          for (const o of await describeNwb(path)) {
            const cols = o.columns ? ` × ${o.columns.length} columns` : "";
            ctx.stdout.write(`    ${o.path.padEnd(36)} ${o.neurodataType.padEnd(17)} ${o.rows} rows${cols}\n`);
          }
        }
        const first = stats.outputs[0];
        if (first) {
          ctx.stdout.write(
            `\nRead it in Python:\n  from pynwb import NWBHDF5IO\n  with NWBHDF5IO(${JSON.stringify(first)}, "r") as io:\n` +
              `      print(io.read().intervals["pipeline_settings"].to_dataframe())\n`,
          );
        }
      } finally {
        signal.dispose();
        await pipeline?.stop().catch(() => undefined);
        await hub.close();
      }
    },
  };
}
