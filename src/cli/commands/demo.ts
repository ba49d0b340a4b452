/**
 * `nwb-settings demo`: the embedded hub, a simulated pipeline whose settings change, and a
 * recording of both sinks, with a summary of what was written. The README's first command.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { CommandModule } from "yargs";
import { commitDemo, refuseExistingDemo, removeTemp, tempPathFor } from "../../app/demo/demo-output.js";
import { DemoPipeline } from "../../app/demo/demo-pipeline.js";
import { RecordSession } from "../../app/record/record-session.js";
import { describeNwb } from "../../nwb/describe.js";
import type { NwbMetadata } from "../../nwb/metadata.js";
import { HubServer } from "../../producer/hub/hub-server.js";
import type { CommandContext } from "../context.js";
import { checkOutputPath, checkPositive, folderErrorText } from "../option-checks.js";

/** A day: the demo is a first look, and longer waits overflow Node's timers anyway. */
const MAX_DEMO_SECONDS = 86_400;
import { untilSignal } from "../shared-options.js";
import { formatBytes } from "../status-line.js";

interface DemoArgs {
  out: string;
  seconds: number;
  overwrite: boolean;
}

/**
 * Complete metadata, as DANDI requires it, that says everywhere that it is simulated: no animal
 * was recorded, so the subject's species and age are placeholders (docs/metadata.md).
 */
export const DEMO_META: NwbMetadata = {
  session_description:
    "SIMULATED nwb-settings demo: settings of a simulated pipeline and the simulated 32-channel recording they shape (no animal was recorded)",
  experiment_description:
    "SIMULATED: four simulated components publish settings to the embedded hub and change them every 200 ms; a simulated 32-channel 1 kHz recording (acquisition/demo_neural) is streamed to the hub, band-limited by DEMO/FILTER and scaled by DEMO/FEEDBACK gain, so each change shows in the data.",
  session_id: "demo",
  experimenter: ["Simulation, nwb-settings"],
  institution: "None (simulated data)",
  lab: "None (simulated data)",
  keywords: ["nwb-settings", "demo", "simulated", "pipeline settings"],
  subject: {
    subject_id: "sim01",
    species: "Mus musculus",
    sex: "U",
    age: "P90D",
    description: "SIMULATED subject: no animal was recorded. Species and age are placeholders so that the file passes DANDI's checks; sex U = unknown.",
  },
};

export function demoCommand(ctx: CommandContext): CommandModule<object, DemoArgs> {
  return {
    command: "demo",
    describe: "Record a simulated pipeline from the embedded hub into an NWB file (try this first)",
    builder: (y) =>
      y
        .option("out", { alias: "o", type: "string", default: "demo.nwb", describe: "Output NWB file" })
        .option("seconds", { type: "number", default: 5, describe: "How long the simulated pipeline runs" })
        .option("overwrite", { type: "boolean", default: true, describe: "Replace an earlier demo file" })
        .check((a) => {
          checkPositive("--seconds", a.seconds, MAX_DEMO_SECONDS, "seconds");
          return true;
        }) as never,
    handler: async (args) => {
      await checkOutputPath("--out", args.out);
      const outPath = resolve(args.out);
      await mkdir(dirname(outPath), { recursive: true }).catch((err: unknown) => {
        throw new Error(folderErrorText(dirname(outPath), err));
      });
      // The demo records under a hidden temporary name and moves the file into place only once it is
      // complete and closed: an interrupted or failed demo leaves an earlier demo.nwb as it was.
      if (!args.overwrite) await refuseExistingDemo(outPath);
      const tempBase = tempPathFor(outPath);
      const signal = untilSignal(ctx);
      const hub = await HubServer.start({ port: 0 });
      let pipeline: DemoPipeline | undefined;
      let committed = false;
      try {
        pipeline = await DemoPipeline.start(hub.url);
        const session = await RecordSession.start({
          source: hub.url,
          outPath: tempBase,
          sinks: ["annotations", "table"],
          meta: DEMO_META,
          overwrite: args.overwrite,
          onError: (m) => ctx.stderr.write(`error: ${m}\n`),
          // the simulated stream: all hub streams, on the system clock; a mouse subject needs a
          // brain-area term for the electrodes (the Allen CCF root: "somewhere in the brain")
          streams: { patterns: ["*"], clock: "system", onOverflow: "block", electrodeLocation: "root" },
        });
        await session.streamsStarted();
        ctx.stderr.write(`demo: recording a simulated pipeline and its 32-channel stream from the embedded hub (${hub.url}) for ${args.seconds} s…\n`);
        pipeline.run(200);
        let timer: NodeJS.Timeout | undefined;
        // session.finished settles early only when the recording failed: then stop with its error
        await Promise.race([signal.promise, session.finished, new Promise((r) => (timer = setTimeout(r, args.seconds * 1000)))]);
        clearTimeout(timer);
        await pipeline.stop();
        const streamedSamples = pipeline.samples;
        pipeline = undefined;
        const stats = await session.stop();
        stats.outputs = await commitDemo(tempBase, outPath, stats.outputs);
        committed = true;
        ctx.stdout.write(
          `recorded ${stats.events} settings events (the startup snapshot, then every change) and ${streamedSamples} samples × 32 channels into:\n`,
        );
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
              `      f = io.read()\n      print(f.intervals["pipeline_settings"].to_dataframe())\n` +
              `      print(f.acquisition["demo_neural"].data[:1000, :4])  # first second of 4 channels; × .conversion = volts\n`,
          );
        }
      } finally {
        if (!committed) await removeTemp(tempBase);
        signal.dispose();
        await pipeline?.stop().catch(() => undefined);
        await hub.close();
      }
    },
  };
}
