/**
 * Checks on the raw command line, before the parser sees it. Kept apart from option-checks.ts so
 * that starting the CLI loads nothing else (see main.ts: only the named command's code is loaded).
 */
import { UsageError } from "./context.js";

/** Options that take a value; yargs silently drops one given without it, so that is checked first. */
const VALUE_OPTIONS = new Set([
  "--jobs",
  "-j",
  "--max-memory",
  "--out",
  "-o",
  "--out-dir",
  "--sinks",
  "--meta",
  "--time-origin",
  "--source",
  "--scope",
  "--session",
  "--hub-port",
  "--flush-interval",
  "--seconds",
  "--host",
  "--port",
  "--streams",
  "--clock",
  "--on-overflow",
  "--stream-buffer",
  "--electrode-location",
  "--at",
  "--component",
  "--setting",
  "--format",
  "--plot",
]);

/**
 * Checks on the raw arguments that the parser would get wrong: an option at the end or followed
 * by another option instead of its value, and `-` (standard input), which no command reads.
 */
export function checkRawArguments(argv: readonly string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a === "-") throw new UsageError("- (standard input) is not supported as a file; give the file's path");
    if (VALUE_OPTIONS.has(a)) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("-") && next !== "-" && !/^-\d/.test(next))) throw new UsageError(`${a} needs a value`);
      i++;
    }
  }
}
