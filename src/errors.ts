/**
 * One error model for nwb-settings. Every failure we raise on purpose is an {@link NwbSettingsError}
 * with a stable `code` (listed in docs/cli.md), and says what failed, which input and which file
 * where there is one. Callers test with {@link isNwbSettingsError}, never by matching message text:
 *
 *     if (isNwbSettingsError(err, "ERR_OUTPUT_FAILED")) ... err.file ...
 *
 * Fatal codes ({@link isFatal}) end a run: a live recording stops (the journal keeps every accepted
 * event for `recover`) and a conversion fails as a whole. Other codes are about one input line or
 * one event; the run goes on without it.
 *
 * This module imports nothing, so every layer (src/nwb included) may use it. The ezmsg client
 * library (src/ezmsg/errors.ts) and the hub protocol (HubError) keep their own coded errors: they
 * are protocols of their own with their own codes, also listed in docs/cli.md.
 */

export const ERROR_CODES = {
  ERR_USAGE: "a wrong call: unknown option, bad value, missing argument (exit 2)",
  ERR_INPUT_UNREADABLE: "an input file cannot be read",
  ERR_EVENT_FORMAT: "an event (one JSONL line, one hub message) is not a valid settings event",
  ERR_EVENT_REJECTED: "a sink cannot hold an event (e.g. a name HDF5 cannot store); the event is skipped, the run goes on",
  ERR_METADATA: "the --meta file is not valid NWB session metadata",
  ERR_OUTPUT_EXISTS: "an output (or its segments or journal) already exists and --overwrite was not given",
  ERR_OUTPUT_FAILED: "an output file cannot be created, written, flushed or closed; fatal for the run",
  ERR_OUTPUT_REFUSED: "the output does not allow the operation (rotate to a new file, reopen, unlink)",
  ERR_NWB: "an NWB/HDF5 file is not what we expected (missing object, wrong type, unreadable)",
  ERR_BOOL_PATCH: "a bool column's datatype could not be rewritten safely; the file was left as it was",
  ERR_JOURNAL_FORMAT: "a journal file is not a valid journal",
  ERR_JOURNAL_FAILED: "the journal cannot be written or synced; fatal for the recording",
  ERR_RECOVER_REFUSED:
    "recover will not act: a live writer holds the recording, the files hold more than the journal, or it would replace a file it cannot prove is damaged or behind",
  ERR_PRODUCER_GAVE_UP: "the settings source could not be reached within the retry limits",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

const FATAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["ERR_OUTPUT_FAILED", "ERR_JOURNAL_FAILED", "ERR_PRODUCER_GAVE_UP"]);

export interface ErrorContext {
  /** The input the failure is about (a log file, a source URL, `FILE:LINE`). */
  input?: string;
  /** The file that failed (an NWB segment, a journal). */
  file?: string;
  cause?: unknown;
}

export class NwbSettingsError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly input: string | undefined;
  readonly file: string | undefined;

  constructor(code: C, message: string, context: ErrorContext = {}) {
    super(message, context.cause !== undefined ? { cause: context.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.input = context.input;
    this.file = context.file;
  }
}

/** True for an error of ours (optionally: with this code). */
export function isNwbSettingsError<C extends ErrorCode>(err: unknown, code?: C): err is NwbSettingsError<C> {
  return err instanceof NwbSettingsError && (code === undefined || err.code === code);
}

/** An error that must end the run (recording, conversion), not just skip one event. */
export function isFatal(err: unknown): boolean {
  return err instanceof NwbSettingsError && FATAL.has(err.code);
}

/** A wrong call (exit 2). */
export class UsageError extends NwbSettingsError<"ERR_USAGE"> {
  constructor(message: string) {
    super("ERR_USAGE", message);
  }
}

/** The output file itself failed (cannot create, write, flush, disk full, …): fatal for the whole output. */
export class OutputError extends NwbSettingsError<"ERR_OUTPUT_FAILED"> {
  constructor(message: string, file?: string, cause?: unknown) {
    super("ERR_OUTPUT_FAILED", message, { file, cause });
  }
}

/** Files an output would write already exist (and no --overwrite). */
export class OutputExistsError extends NwbSettingsError<"ERR_OUTPUT_EXISTS"> {
  constructor(message: string, file?: string) {
    super("ERR_OUTPUT_EXISTS", message, { file });
  }
}

/** The output may not do this (e.g. an attached user file may not rotate or be unlinked). */
export class OutputRefusedError extends NwbSettingsError<"ERR_OUTPUT_REFUSED"> {
  constructor(message: string, file?: string) {
    super("ERR_OUTPUT_REFUSED", message, { file });
  }
}

/** A sink cannot take this event; the others in the run are still written. */
export class EventRejectedError extends NwbSettingsError<"ERR_EVENT_REJECTED"> {
  constructor(message: string, cause?: unknown) {
    super("ERR_EVENT_REJECTED", message, { cause });
  }
}

export class EventFormatError extends NwbSettingsError<"ERR_EVENT_FORMAT"> {
  constructor(problem: string) {
    super("ERR_EVENT_FORMAT", problem);
  }
}

export class MetadataError extends NwbSettingsError<"ERR_METADATA"> {
  constructor(message: string) {
    super("ERR_METADATA", message);
  }
}

/** The NWB/HDF5 layer: a file or object is missing, of the wrong type, or cannot be read. */
export class NwbError extends NwbSettingsError<"ERR_NWB"> {
  constructor(message: string, file?: string, cause?: unknown) {
    super("ERR_NWB", message, { file, cause });
  }
}

export class BoolPatchError extends NwbSettingsError<"ERR_BOOL_PATCH"> {
  constructor(filePath: string, datasetPath: string, problem: string) {
    super("ERR_BOOL_PATCH", `cannot make ${datasetPath} in ${filePath} a bool dataset: ${problem}`, { file: filePath });
  }
}

export class JournalFormatError extends NwbSettingsError<"ERR_JOURNAL_FORMAT"> {
  constructor(message: string, file?: string) {
    super("ERR_JOURNAL_FORMAT", message, { file });
  }
}

export class JournalError extends NwbSettingsError<"ERR_JOURNAL_FAILED"> {
  constructor(message: string, file?: string) {
    super("ERR_JOURNAL_FAILED", message, { file });
  }
}

export class ProducerGaveUpError extends NwbSettingsError<"ERR_PRODUCER_GAVE_UP"> {
  constructor(message: string, cause: unknown) {
    super("ERR_PRODUCER_GAVE_UP", message, { cause });
  }
}
