/**
 * `nwb-settings show FILE…`: the settings of a recording (all its segments) in the terminal — the
 * timeline of changes, or with `--at T` the complete state in effect at T — and with `--plot` a
 * picture of the settings over time (docs/show.md).
 */
import type { CommandModule } from "yargs";
import { type HistorySource, readSettingsHistory } from "../../app/show/settings-history.js";
import { SHOW_FORMATS, type ShowFormat, formatState, formatTimeline } from "../../app/show/show-format.js";
import { parseTimeArg } from "../../app/show/wall-clock.js";
import { type CommandContext, UsageError } from "../context.js";

interface ShowArgs {
  files: string[];
  at?: string;
  component?: string[];
  setting?: string[];
  format: ShowFormat;
  source: HistorySource;
  plot?: string;
}

export function showCommand(ctx: CommandContext): CommandModule<object, ShowArgs> {
  return {
    command: "show <files..>",
    describe: "Show the settings recorded in NWB files (all segments of a recording): the changes, the state at a time (--at), or a plot (--plot)",
    builder: (y) =>
      y
        .positional("files", { type: "string", array: true, demandOption: true, describe: "NWB files (a recording's first file brings its segments)" })
        .option("at", {
          type: "string",
          describe: "Print the complete settings state in effect at this time: seconds of file time (12.5), wall clock HH:MM:SS[.ffffff] or an ISO date-time",
        })
        .option("component", { type: "string", array: true, describe: "Only components matching this glob (* and ?); repeatable" })
        .option("setting", { type: "string", array: true, describe: "Only settings matching this glob (field path, e.g. cutoff or filter.*); repeatable" })
        .option("format", { type: "string", choices: SHOW_FORMATS as ShowFormat[], default: "text" as ShowFormat, describe: "Output format" })
        .option("source", {
          type: "string",
          choices: ["auto", "annotations", "table"] as HistorySource[],
          default: "auto" as HistorySource,
          describe: "Read the JSON rows (annotations) or the typed table; auto: JSON rows when present",
        })
        .option("plot", { type: "string", describe: "Draw the settings over time into this file (.svg or .png); with --at, T is marked" })
        .check((a) => {
          if (a.plot !== undefined && !/\.(svg|png)$/i.test(a.plot)) throw new UsageError(`--plot ${a.plot}: the file must end in .svg or .png`);
          return true;
        }) as never,
    handler: async (args) => {
      const history = await readSettingsHistory(args.files, { source: args.source });
      for (const p of history.problems) ctx.stderr.write(`nwb-settings: ${p}\n`);
      const filter = { components: args.component, settings: args.setting };
      const at = args.at === undefined ? undefined : parseTimeArg(args.at, history.referenceTime, history);
      if (args.plot !== undefined) {
        const { writePlot } = await import("../../app/show/plot.js");
        const result = await writePlot(history, args.plot, { filter, ...(at !== undefined ? { at } : {}) });
        ctx.stderr.write(
          `wrote ${args.plot}: ${result.lanes} setting lane${result.lanes === 1 ? "" : "s"}, ${result.changes} change${result.changes === 1 ? "" : "s"}${result.strip ? `, data strip of ${result.strip}` : ""}\n`,
        );
        if (args.at === undefined) return;
      }
      if (at !== undefined) {
        ctx.stdout.write(formatState(history, at, history.stateAt(at), filter, args.format));
        return;
      }
      ctx.stdout.write(formatTimeline(history, filter, args.format));
    },
  };
}
