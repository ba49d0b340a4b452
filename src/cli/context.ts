/** What command handlers share: where to print and how to report an exit code. */
export interface CommandContext {
  exitCode: number;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** A mistake in how the command was called (exit code 2). */
export { UsageError } from "../errors.js";
