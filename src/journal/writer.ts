/**
 * The journal writer: every event the recorder accepts is appended here before any sink sees it.
 *
 * Durability (docs/reliability.md):
 * - `append` serializes the event and writes the line to the file at once (one `write` system
 *   call, no waiting for the disk): when it returns, the OS holds the line, so it survives a crash
 *   or SIGKILL of this process, and it is there before any sink can put the event into the NWB
 *   file (a sink may close a segment synchronously, e.g. on rotation);
 * - at most `syncIntervalMs` (default 100) after an event was appended, an `fdatasync` makes it
 *   durable on disk (it survives a power loss or an OS crash);
 * - `sync()` syncs now; `close(closeTime)` syncs, writes the clean-close trailer and closes the file.
 * A failed write or sync is fatal for the journal: it is reported through `onError`, and every
 * later `append` throws {@link JournalError}, so nothing is accepted that cannot be journaled.
 */
import { writeSync } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { PipelineSettingsEvent } from "../events/event.js";
import { serializeEvent } from "../events/event-codec.js";
import { type JournalHeaderInfo, encodeEnd, encodeHeader, journalPathFor } from "./format.js";
import { JournalError } from "../errors.js";

export const DEFAULT_SYNC_INTERVAL_MS = 100;
/** Node timers fire a few ms late under load. */
const TIMER_SLACK_MS = 10;

export { JournalError };

export interface JournalWriterOptions {
  /** Longest time between an append and its fdatasync (default 100 ms). 0 syncs on every write turn. */
  syncIntervalMs?: number;
  /** Replace an existing journal (default: refuse, the old journal may be all that is left of a recording). */
  overwrite?: boolean;
  /** Called once when a write or sync fails (the journal stops accepting events). */
  onError?: (err: JournalError) => void;
}

export interface JournalCounters {
  /** Events appended (accepted). */
  accepted: number;
  /** Events handed to the OS (survive a crash of this process). */
  written: number;
  /** Events fdatasync'ed (survive a power loss). */
  durable: number;
  /** Longest append → durable delay seen so far, in ms. */
  maxSyncDelayMs: number;
}

const utf8 = new TextEncoder();

export class JournalWriter {
  readonly counters: JournalCounters = { accepted: 0, written: 0, durable: 0, maxSyncDelayMs: 0 };
  /** performance.now() of the oldest written event that is not yet synced. */
  private writtenSince: number | undefined;
  /** How long the last fdatasync took; the sync timer fires that much early. */
  private lastSyncMs = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  /** The chain of file operations; each runs after the previous one. */
  private chain: Promise<void> = Promise.resolve();
  private failure: JournalError | undefined;
  private closed = false;
  private readonly syncIntervalMs: number;
  private durableListeners: ((durableEvents: number) => void)[] = [];

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly options: JournalWriterOptions,
  ) {
    this.syncIntervalMs = Math.max(0, options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS);
  }

  /**
   * Create the journal with its header line and make header and directory entry durable before
   * returning, so the first event can never land in a journal that does not exist after a crash.
   */
  static async create(path: string, header: JournalHeaderInfo, options: JournalWriterOptions = {}): Promise<JournalWriter> {
    let fh: FileHandle;
    try {
      fh = await open(path, options.overwrite ? "w" : "wx");
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === "EEXIST")
        throw new JournalError(`journal ${path} already exists (it may hold an unrecovered recording: run "nwb-settings recover ${path}" or remove it)`);
      throw new JournalError(`cannot create journal ${path}: ${e.message}`);
    }
    try {
      await fh.writeFile(`${encodeHeader(header, path)}\n`, "utf8");
      await fh.datasync();
      await syncDirectory(dirname(path));
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw new JournalError(`cannot write journal ${path}: ${(err as Error).message}`);
    }
    return new JournalWriter(path, fh, options);
  }

  /**
   * Journal one event (as the sinks will see it): written to the OS before this returns. Throws
   * {@link JournalError} when it cannot be written, or once the journal failed or closed; the
   * caller must then not hand the event to the sinks.
   */
  append(event: PipelineSettingsEvent): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new JournalError(`journal ${this.path} is closed`);
    try {
      writeAllSync(this.fh.fd, utf8.encode(`${serializeEvent(event)}\n`));
    } catch (err) {
      this.fail(err);
      throw this.failure!;
    }
    this.counters.accepted++;
    this.counters.written++;
    this.writtenSince ??= performance.now();
    this.armSyncTimer();
  }

  /** Write and fdatasync everything appended so far; resolves when it is durable. */
  async sync(): Promise<void> {
    await this.enqueue(() => this.writeAndSync());
    if (this.failure) throw this.failure;
  }

  /**
   * Make everything durable, write the clean-close trailer (`closeTime`: the file time the sinks
   * were closed at, so `recover` can rebuild the same final rows) and close the file.
   */
  async close(closeTime?: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    try {
      await this.enqueue(async () => {
        await this.writeAndSync();
        if (closeTime !== undefined && Number.isFinite(closeTime) && !this.failure) {
          await this.writeAll(`${encodeEnd(closeTime)}\n`);
          await this.fh.datasync();
        }
      });
    } finally {
      await this.fh.close().catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }

  /** Call `listener` with `counters.durable` each time an fdatasync makes more events durable. */
  onDurable(listener: (durableEvents: number) => void): void {
    this.durableListeners.push(listener);
  }

  /** Remove the journal file (after {@link close}; a recording that wrote nothing). */
  async discard(): Promise<void> {
    if (!this.closed || this.failure) return;
    await unlink(this.path).catch(() => undefined);
  }

  get failed(): JournalError | undefined {
    return this.failure;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.failure) return;
      try {
        await op();
      } catch (err) {
        this.fail(err);
      }
    };
    this.chain = this.chain.then(run, run);
    return this.chain;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = new JournalError(`journal ${this.path} cannot be written (${(err as Error).message}); events are no longer accepted`);
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    this.options.onError?.(this.failure);
  }

  private async writeAndSync(): Promise<void> {
    const written = this.counters.written;
    if (written === this.counters.durable) return;
    const since = this.writtenSince;
    // Lines appended while we sync start a new window (and arm their own timer).
    this.writtenSince = undefined;
    const start = performance.now();
    await this.fh.datasync();
    const end = performance.now();
    this.lastSyncMs = end - start;
    this.counters.durable = written;
    if (since !== undefined) this.counters.maxSyncDelayMs = Math.max(this.counters.maxSyncDelayMs, end - since);
    for (const l of this.durableListeners) {
      try {
        l(written);
      } catch {
        // a listener only watches; it never fails the journal
      }
    }
  }

  /** Sync the oldest unsynced event no later than syncIntervalMs after its append. */
  private armSyncTimer(): void {
    if (this.syncTimer !== undefined || this.closed || this.failure) return;
    const oldest = this.writtenSince ?? performance.now();
    // Fire early by the last sync's duration and a little timer lateness, so the sync *ends* in time.
    const due = oldest + this.syncIntervalMs - this.lastSyncMs - TIMER_SLACK_MS;
    this.syncTimer = setTimeout(
      () => {
        this.syncTimer = undefined;
        void this.enqueue(() => this.writeAndSync());
      },
      Math.max(0, due - performance.now()),
    );
  }

  private async writeAll(text: string): Promise<void> {
    writeAllSync(this.fh.fd, utf8.encode(text));
  }
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
}

/** fsync a directory so a newly created file's entry is durable (best effort where unsupported). */
async function syncDirectory(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms/filesystems cannot open or fsync a directory; the file's data is synced anyway.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * A journal factory for the recorder: creates `<nwb path>.journal.jsonl` beside the NWB file with
 * the header the recorder describes. `overwrite` should follow the recorder's `--overwrite`.
 */
export function journalBeside(options: JournalWriterOptions = {}): (info: JournalHeaderInfo) => Promise<JournalWriter> {
  return (info) => JournalWriter.create(journalPathFor(info.nwbPath), info, options);
}
