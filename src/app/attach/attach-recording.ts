/**
 * `attach`: add the settings to a recording someone else wrote, without ever putting it at risk
 * (docs/attach.md). In order:
 *  1. lock the recording (flock LOCK_EX: refused while an HDF5 program or another attach has it
 *     open), then remove leftovers of an interrupted attach of it (they are ours, and only ever
 *     copies: the recording itself was never written);
 *  2. preflight, read-only: the superblock (not flagged open for write, not shorter than it says),
 *     no live or crashed `record` journal beside it, space for a copy, a single link, that it is
 *     NWB, its timestamps_reference_time (parsed to µs), the settings read and put on its clock,
 *     and every name we would create free — all before anything is written;
 *  3. write through a copy (filesafe/staged-replace.ts): copy, add our objects to the copy, read
 *     them back, fsync, check the recording did not change meanwhile, rename over it. A kill -9 at
 *     any instant leaves the recording byte-identical or complete.
 */
import { randomUUID } from "node:crypto";
import { open, realpath, stat } from "node:fs/promises";
import { OutputRefusedError, isFatal, isNwbSettingsError } from "../../errors.js";
import { isSentinel } from "../../events/event.js";
import { FileBusyError, lockExclusive } from "../../filesafe/file-lock.js";
import { removeLeftovers, replaceViaCopy, replacementProblem } from "../../filesafe/staged-replace.js";
import { END_KEY, journalPathFor } from "../../journal/format.js";
import { errorText } from "../../nwb/hdf5/h5wasm.js";
import { readSuperblockInfo } from "../../nwb/hdf5/superblock.js";
import { inventory } from "../../nwb/inventory.js";
import { NwbFileReader } from "../../nwb/nwb-file.js";
import { AttachedOutput } from "../../output/attached-output.js";
import { DEFAULT_SETTINGS_TABLE_NAME } from "../../sinks/table-sink.js";
import { type SinkName, SinkSet } from "../../sinks/sink-set.js";
import { recordingClock } from "./recording-clock.js";
import { type SettingsInput, latestTime, readSettings } from "./settings-source.js";

export interface AttachOptions {
  sinks: readonly SinkName[];
  /** Name of the typed table in /intervals (default `pipeline_settings`). */
  tableName?: string;
  /** Name of the AnnotationSeries in /acquisition for every event (default: each event's table_name). */
  annotationName?: string;
  /** Seconds added to every settings time after alignment (a settings clock known to differ). */
  offset?: number;
  /** Stops the attach before the recording is replaced (Ctrl-C): the recording stays as it was. */
  signal?: AbortSignal;
  /** Phase markers: locked, preflight, copy, change, sync, replace, done. */
  onPhase?: (phase: string) => void;
}

export type AttachStatus = "attached" | "partial" | "refused" | "failed" | "empty";

export interface AttachResult {
  recording: string;
  settings: string;
  status: AttachStatus;
  /** Why it was refused or failed (the recording is unchanged then). */
  message?: string;
  /** Settings events attached (the startup sentinel not counted). */
  events: number;
  /** Objects added, with rows: `acquisition/settings_annotations: 12`. */
  added: Record<string, number>;
  /** Lines or events that could not be attached (the rest was). */
  problems: string[];
  /** Leftovers of an interrupted attach that this run removed first. */
  leftoversRemoved: string[];
  /** Milliseconds per phase (copy, change, sync, replace), when the recording was replaced. */
  timings?: Record<string, number>;
}

/** Refused before anything was written: the message says what to do. */
class Refusal extends Error {}

export async function attachRecording(recordingPath: string, settingsPath: string, options: AttachOptions): Promise<AttachResult> {
  const result: AttachResult = { recording: recordingPath, settings: settingsPath, status: "failed", events: 0, added: {}, problems: [], leftoversRemoved: [] };
  let recording: string;
  try {
    recording = await realpath(recordingPath);
    const s = await stat(recording);
    if (!s.isFile()) throw new Refusal(`${recordingPath} is not a regular file`);
    const settingsStat = await stat(settingsPath);
    if (!settingsStat.isFile()) throw new Refusal(`${settingsPath} is not a regular file`);
    if ((await realpath(settingsPath)) === recording) throw new Refusal("the recording and the settings are the same file");
  } catch (err) {
    return refused(result, err instanceof Refusal ? err.message : ioMessage(err));
  }
  let lock: Awaited<ReturnType<typeof lockExclusive>>;
  try {
    lock = await lockExclusive(recording);
  } catch (err) {
    return refused(result, err instanceof FileBusyError ? `${err.message}; it was left untouched (close it there and run attach again)` : errorText(err));
  }
  try {
    options.onPhase?.("locked");
    result.leftoversRemoved = await removeLeftovers(recording);
    options.onPhase?.("preflight");
    const plan = await preflight(recording, settingsPath, options);
    result.problems.push(...plan.settings.problems);
    const events = plan.settings.events;
    result.events = events.filter((e) => !isSentinel(e.event)).length;
    if (result.events === 0) {
      result.status = "empty";
      result.message = `${settingsPath} holds no settings events; ${recordingPath} was left unchanged`;
      return result;
    }
    const tag = randomUUID().slice(0, 8);
    const { result: added, timings } = await replaceViaCopy(
      recording,
      tag,
      async (copy) => {
        const output = new AttachedOutput(copy, recordingPath);
        const sinks = new SinkSet(options.sinks, output, {
          expectedEvents: events.length,
          notBefore: 0,
          ...(options.tableName === undefined ? {} : { tableName: options.tableName }),
        });
        try {
          for (const { where, event } of events) {
            try {
              await sinks.write(event);
            } catch (err) {
              if (isFatal(err) || isNwbSettingsError(err, "ERR_OUTPUT_REFUSED")) throw err;
              result.problems.push(`${where}: ${(err as Error).message}`);
            }
          }
          await sinks.close(plan.closeTime);
        } catch (err) {
          await output.close().catch(() => undefined);
          throw err;
        }
        const added = await checkAdded(copy, plan.names);
        // Every event rejected: the recording is not replaced by a copy that gained nothing.
        if (Object.values(added).every((n) => n === 0)) throw new Error(`none of the ${result.events} events could be attached (the problems are listed)`);
        return added;
      },
      {
        onPhase: (p) => options.onPhase?.(p),
        cancelled: () => (options.signal?.aborted ? "interrupted" : undefined),
      },
    );
    result.added = added;
    result.timings = timings;
    result.status = result.problems.length > 0 ? "partial" : "attached";
    return result;
  } catch (err) {
    if (err instanceof Refusal) return refused(result, err.message);
    if (isNwbSettingsError(err, "ERR_OUTPUT_REFUSED")) {
      return refused(
        result,
        `${(err as OutputRefusedError).message}: the typed table cannot change its columns inside one recording; ${recordingPath} was left unchanged (attach with --sinks annotations, whose JSON rows hold every event)`,
      );
    }
    result.status = "failed";
    result.message = `${errorText(err)}; ${recordingPath} was left unchanged`;
    return result;
  } finally {
    await lock.release();
  }
}

function refused(result: AttachResult, message: string): AttachResult {
  result.status = "refused";
  result.message = message;
  return result;
}

function ioMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const what = e.path ?? "";
  if (e.code === "ENOENT") return `${what}: no such file`;
  if (e.code === "EACCES") return `${what}: permission denied`;
  return errorText(err);
}

interface Plan {
  settings: SettingsInput;
  closeTime: number;
  /** Paths of the objects attach will create. */
  names: string[];
}

/** Everything checked read-only before a byte is written. Throws {@link Refusal}. */
async function preflight(recording: string, settingsPath: string, options: AttachOptions): Promise<Plan> {
  let sb: ReturnType<typeof readSuperblockInfo>;
  try {
    sb = readSuperblockInfo(recording);
  } catch (err) {
    throw new Refusal(`${recording} is not an HDF5 file we can safely change: ${errorText(err)}`);
  }
  if (sb.openForWrite) {
    throw new Refusal(
      `${recording} is flagged "open for write": a program is writing it, or one crashed while writing it (if none is running, h5clear -s clears the flag); it was left untouched`,
    );
  }
  if (sb.base + sb.endOfFile > BigInt(sb.fileSize)) {
    throw new Refusal(
      `${recording} is shorter (${sb.fileSize} bytes) than its superblock says (${sb.base + sb.endOfFile}): it is damaged or still being written; it was left untouched`,
    );
  }
  const recorderJournal = await liveJournal(recording);
  if (recorderJournal) {
    throw new Refusal(
      `${recording} has a recording journal without a clean end (${recorderJournal}): nwb-settings record is writing it, or crashed (run nwb-settings recover); it was left untouched`,
    );
  }
  const space = await replacementProblem(recording);
  if (space) throw new Refusal(`cannot attach safely to ${recording}: ${space}; it was left untouched`);

  let reader: NwbFileReader;
  try {
    reader = await NwbFileReader.open(recording);
  } catch (err) {
    throw new Refusal(`${recording}: ${errorText(err)}`);
  }
  try {
    const referenceText = reader.info().timestampsReferenceTime;
    let clock: ReturnType<typeof recordingClock>;
    try {
      clock = recordingClock(referenceText, options.offset ?? 0);
    } catch (err) {
      throw new Refusal(`${recording}: its timestamps_reference_time ${(err as Error).message}`);
    }
    let settings: SettingsInput;
    try {
      settings = await readSettings(settingsPath, clock);
    } catch (err) {
      const msg = ioMessage(err).replace(/^: /, "");
      throw new Refusal(`${msg.startsWith(settingsPath) ? msg : `${settingsPath}: ${msg}`}; ${recording} was left untouched`);
    }
    if (options.annotationName !== undefined) for (const e of settings.events) e.event.table_name = options.annotationName;
    const names: string[] = [];
    if (options.sinks.includes("annotations")) {
      for (const e of settings.events) if (!isSentinel(e.event)) names.push(`acquisition/${e.event.table_name}`);
    }
    if (options.sinks.includes("table")) names.push(`intervals/${options.tableName ?? DEFAULT_SETTINGS_TABLE_NAME}`);
    const unique = [...new Set(names)];
    const taken = unique.filter((n) => reader.has(n));
    if (taken.length > 0) {
      throw new Refusal(
        `${recording} already holds ${taken.map((n) => `/${n}`).join(", ")} (settings attached before?); nothing was written (choose other names with --table-name / --annotation-name)`,
      );
    }
    const latest = settings.events.length > 0 ? latestTime(settings.events) : 0;
    return { settings, closeTime: settings.end ?? latest, names: unique };
  } finally {
    reader.close();
  }
}

/** The recorder's journal beside the recording, when it has no clean-close line (a live or crashed `record`). */
async function liveJournal(recording: string): Promise<string | undefined> {
  const path = journalPathFor(recording);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "r");
  } catch {
    return undefined;
  }
  try {
    const { size } = await fh.stat();
    const n = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, size - n);
    const lines = buf
      .toString("utf8")
      .split("\n")
      .filter((l) => l.trim() !== "");
    const last = lines[lines.length - 1] ?? "";
    return last.includes(`"${END_KEY}"`) ? undefined : path;
  } finally {
    await fh.close();
  }
}

/** Read the copy back: every object we added is there, readable, with columns of equal length. */
async function checkAdded(copy: string, names: readonly string[]): Promise<Record<string, number>> {
  const reader = await NwbFileReader.open(copy);
  try {
    const inv = inventory(reader, { types: ["AnnotationSeries", "TimeIntervals"] });
    const ours = inv.objects.filter((o) => names.includes(o.path));
    const problems = inv.problems.filter((p) => names.some((n) => p.startsWith(n)));
    if (problems.length > 0) throw new Error(`the settings written did not read back: ${problems.join("; ")}`);
    const added: Record<string, number> = {};
    for (const o of ours) added[o.path] = o.rows;
    return added;
  } finally {
    reader.close();
  }
}

export { OutputRefusedError };
