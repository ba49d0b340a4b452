/**
 * `nwb-settings meta init [FILE]`: a commented metadata template with every field DANDI requires
 * (docs/metadata.md). To stdout without FILE; never replaces an existing file without --overwrite.
 */
import { writeFile } from "node:fs/promises";
import type { CommandModule } from "yargs";
import { parseYaml } from "../../nwb/metadata.js";
import type { CommandContext } from "../context.js";

/** The template: required-by-DANDI fields first, filled with examples to replace. */
export const META_TEMPLATE = `# nwb-settings session metadata (--meta FILE). YAML; every value below is an EXAMPLE: replace it.
# Fields marked [DANDI] are required before \`dandi upload\` accepts a file; nwb-settings warns
# (naming the field) when one is missing. Reference: docs/metadata.md.

session_description: Closed-loop BCI session, decoder gain sweep    # [DANDI] what happened in this session
experimenter: ["Doe, Jane"]            # "Last, First"; a list for several people
institution: Example University
lab: Neural Interfaces Lab
session_id: S001                       # also names the file with convert --dandi-names (ses-S001)
experiment_description: Gain sweep of the decoder
keywords: [BCI, settings]
# protocol: IACUC-1234
# notes: free text
# related_publications: ["doi:10.1234/abcd"]
# identifier: a UUID                   # default: a new one per file
# session_start_time: 2026-11-28T10:00:00+00:00   # default: derived from the events

subject:
  subject_id: M1                       # [DANDI] letters, digits and '-' (names the folder sub-M1)
  species: Mus musculus                # [DANDI] Latin binomial, or an NCBI taxonomy URL
  sex: U                               # [DANDI] M, F, U (unknown) or O (other)
  age: P90D                            # [DANDI] ISO 8601 duration (P90D = 90 days) ...
  # date_of_birth: 2026-08-30          # ... or the date of birth instead of age
  # description: head-fixed, implanted 2026-10-01
  # genotype: wild type
  # strain: C57BL/6J
  # weight: 25 g
`;

interface MetaInitArgs {
  file?: string;
  overwrite: boolean;
}

export function metaCommand(ctx: CommandContext): CommandModule<object, object> {
  return {
    command: "meta <action>",
    describe: "Session metadata helpers: `meta init [FILE]` writes a commented template",
    builder: (y) =>
      y
        .command<MetaInitArgs>({
          command: "init [file]",
          describe: "Write a commented --meta template with every field DANDI requires (stdout without FILE)",
          builder: (b) =>
            b
              .positional("file", { type: "string", describe: "Where to write it (YAML)" })
              .option("overwrite", { type: "boolean", default: false, describe: "Replace an existing file" }) as never,
          handler: async (args) => {
            await parseYaml(META_TEMPLATE, "the template"); // the template itself must load as --meta
            if (args.file === undefined) {
              ctx.stdout.write(META_TEMPLATE);
              return;
            }
            try {
              await writeFile(args.file, META_TEMPLATE, { flag: args.overwrite ? "w" : "wx" });
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === "EEXIST") {
                ctx.stderr.write(`nwb-settings: ${args.file} already exists; use --overwrite to replace it\n`);
                ctx.exitCode = 1;
                return;
              }
              throw new Error(`cannot write ${args.file}: ${(err as Error).message}`);
            }
            ctx.stdout.write(`wrote ${args.file}: replace the example values, then pass it as --meta ${args.file}\n`);
          },
        })
        .demandCommand(1, "Name an action: init") as never,
    handler: () => undefined,
  };
}
