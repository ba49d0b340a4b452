/** Options several commands share, parsed the same way everywhere. */
import type { Argv } from "yargs";
import { parseSinkList, type SinkName } from "../sinks/sink-set.js";
import { DEFAULT_SESSION_DESCRIPTION, type NwbMetadata, loadMetadataFile } from "../nwb/metadata.js";
import type { CommandContext } from "./context.js";
import { dandiGaps, describeGaps } from "../nwb/dandi-requirements.js";

export function withOutputOptions<T>(y: Argv<T>) {
  return y
    .option("sinks", { type: "string", default: "annotations", describe: "Comma list of sinks: annotations, table" })
    .option("meta", { type: "string", describe: "Session metadata file (YAML or JSON)" })
    .option("overwrite", { type: "boolean", default: false, describe: "Replace existing output files" });
}

export async function loadMeta(path: string | undefined): Promise<NwbMetadata> {
  return path ? loadMetadataFile(path) : { session_description: DEFAULT_SESSION_DESCRIPTION };
}

export function sinksOption(text: string): SinkName[] {
  return parseSinkList(text);
}

/**
 * Before writing: one warning per metadata field DANDI will reject (missing or malformed), naming
 * the field and the fix; the file is still written.
 */
export function warnDandiGaps(ctx: CommandContext, meta: NwbMetadata, metaPath: string | undefined): void {
  const gaps = dandiGaps(meta);
  if (gaps.length === 0) return;
  for (const line of describeGaps(gaps, metaPath ?? "no --meta")) ctx.stderr.write(`${line}\n`);
  ctx.stderr.write(`  (\`nwb-settings meta init meta.yaml\` writes a template with every field DANDI needs; docs/metadata.md)\n`);
}

/** Resolve on the first SIGINT or SIGTERM; a second one exits at once. */
export function untilSignal(ctx: CommandContext): { promise: Promise<NodeJS.Signals>; dispose: () => void } {
  let count = 0;
  let resolve!: (s: NodeJS.Signals) => void;
  const promise = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1) {
      ctx.stderr.write(`\nsecond ${sig}: exiting without closing the file (the journal has every event; run recover)\n`);
      process.exit(130);
    }
    resolve(sig);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    promise,
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
