/**
 * Reading a journal back (for `recover`): the header, then the events in order, streamed.
 * - The last line may be torn (the process or machine died mid-write: no final `\n`). If it does
 *   not decode as an event it is reported in {@link JournalReader.torn} and ignored; nothing
 *   acknowledged as durable can be in it. A complete last line without its `\n` is still used.
 * - Any other bad line (invalid UTF-8, not JSON, not an event) is an error naming `FILE:LINE`: a
 *   journal is written by us, so it means damage, and recovery must not guess.
 * - Blank lines are ignored (as in event logs).
 */
import { open, readdir, stat } from "node:fs/promises";
import type { PipelineSettingsEvent } from "../events/event.js";
import { parseEvent } from "../events/event-codec.js";
import { type RawLine, decodeLine, readRawLines as rawLines } from "../events/jsonl-lines.js";
import { JOURNAL_SUFFIX, JournalFormatError, type JournalHeader, decodeEnd, decodeHeader, isEndLine, isHeaderLine } from "./format.js";
import { UsageError } from "../errors.js";

export interface JournalEntry {
  /** 1-based line number in the journal. */
  line: number;
  event: PipelineSettingsEvent;
}

export interface TornTail {
  line: number;
  bytes: number;
  problem: string;
}

export interface JournalContents {
  path: string;
  header: JournalHeader;
  events: JournalEntry[];
  /** Close time from the clean-close trailer; undefined when the recording did not close cleanly. */
  closeTime?: number;
  torn?: TornTail;
}

/** Journal lines are ours: no line-length limit (the sources already bound what they accept). */
const UNLIMITED = { maxLineBytes: Number.POSITIVE_INFINITY };

function decodeJournalLine(raw: RawLine): string {
  return decodeLine(raw.bytes);
}

export class JournalReader {
  /** Set once {@link events} has run to the end. */
  closeTime: number | undefined;
  torn: TornTail | undefined;
  eventCount = 0;

  private constructor(
    readonly path: string,
    readonly header: JournalHeader,
  ) {}

  /** Open a journal and decode its header (line 1). */
  static async open(path: string): Promise<JournalReader> {
    // Fail early and clearly on a missing or unreadable file, a folder, or an NWB file given for its journal.
    const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
      const hint = path.endsWith(JOURNAL_SUFFIX) ? "" : ` (a recording's journal is named FILE.nwb${JOURNAL_SUFFIX})`;
      throw new UsageError(
        `cannot read journal ${path}: ${err.code === "ENOENT" ? "no such file" : err.code === "EACCES" ? "permission denied" : err.message}${hint}`,
      );
    });
    if (info.isDirectory()) {
      const inside = (await readdir(path).catch(() => [] as string[])).filter((n) => n.endsWith(JOURNAL_SUFFIX));
      const hint = inside.length > 0 ? `; journals in it: ${inside.slice(0, 5).join(", ")}` : `; no journal (*${JOURNAL_SUFFIX}) in it`;
      throw new UsageError(`${path} is a folder, not a journal: name the journal file${hint}`);
    }
    if (!info.isFile()) throw new UsageError(`${path} is not a regular file, not a journal`);
    if (/\.nwb$/i.test(path)) {
      throw new UsageError(`${path} is an NWB file, not its journal: run "nwb-settings recover ${path}${JOURNAL_SUFFIX}"`);
    }
    await open(path, "r").then(
      (fh) => fh.close(),
      (err: NodeJS.ErrnoException) => {
        throw new JournalFormatError(`cannot read journal ${path}: ${err.code === "EACCES" ? "permission denied" : err.message}`);
      },
    );
    for await (const raw of rawLines(path, 1 << 20, UNLIMITED)) {
      let text: string;
      try {
        text = decodeJournalLine(raw);
      } catch (err) {
        throw new JournalFormatError(`${path}:1: ${(err as Error).message}`);
      }
      if (!raw.terminated) throw new JournalFormatError(`${path}:1: the header line is incomplete (the journal was cut off while it was created)`);
      return new JournalReader(path, decodeHeader(text, path, `${path}:1`));
    }
    throw new JournalFormatError(`${path}: empty file, not a journal (no header line)`);
  }

  /** The journaled events in order (see the module comment for torn and bad lines). */
  async *events(): AsyncGenerator<JournalEntry> {
    this.closeTime = undefined;
    this.torn = undefined;
    this.eventCount = 0;
    let ended = false;
    for await (const raw of rawLines(this.path, 1 << 20, UNLIMITED)) {
      if (raw.line === 1) continue;
      let event: PipelineSettingsEvent | undefined;
      let problem: string | undefined;
      let text = "";
      try {
        text = decodeJournalLine(raw);
        if (text.trim() === "") continue;
        if (ended) throw new Error("a line after the clean-close end line");
        if (isHeaderLine(text)) throw new Error("a second journal header (two journals joined?)");
        if (isEndLine(text)) {
          this.closeTime = decodeEnd(text, `${this.path}:${raw.line}`);
          ended = true;
          continue;
        }
        event = parseEvent(text);
      } catch (err) {
        problem = (err as Error).message;
      }
      if (problem !== undefined) {
        if (!raw.terminated) {
          this.torn = { line: raw.line, bytes: raw.bytes.byteLength, problem };
          return;
        }
        throw new JournalFormatError(`${this.path}:${raw.line}: ${problem}`);
      }
      this.eventCount++;
      yield { line: raw.line, event: event! };
    }
  }
}

/** Read a whole journal into memory (tests, small journals). */
export async function readJournal(path: string): Promise<JournalContents> {
  const reader = await JournalReader.open(path);
  const events: JournalEntry[] = [];
  for await (const e of reader.events()) events.push(e);
  const out: JournalContents = { path, header: reader.header, events };
  if (reader.closeTime !== undefined) out.closeTime = reader.closeTime;
  if (reader.torn) out.torn = reader.torn;
  return out;
}
