/**
 * Reading a JSONL file line by line: the event log reader (producer/sources/jsonl-log.ts) and the
 * journal reader share it, so a log and a journal split and decode lines the same way.
 *
 * Lines end at `\n` (a `\r` before it is dropped) and are decoded as strict UTF-8: a line with
 * bytes that are not UTF-8 is reported, never silently "repaired" into U+FFFD.
 */
import { createReadStream } from "node:fs";

export interface RawLine {
  /** 1-based line number. */
  line: number;
  bytes: Uint8Array;
  /** Ended by `\n` (false only for a last line without one). */
  terminated: boolean;
  /** Set when the line was longer than the limit: its length in bytes (`bytes` is then empty). */
  tooLong?: number;
}

/**
 * Longest line read (64 MiB). A longer line is skipped as it streams past, without ever being held
 * in memory, and reported as a bad line naming the limit.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface ReadLogOptions {
  /** Called after each chunk with the bytes read so far. */
  onBytes?: (bytesRead: number) => void;
  /** Longest line accepted (default {@link MAX_LINE_BYTES}). */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;

/** Split a file into lines on `\n` bytes, streaming (lines of any length). I/O errors are thrown. */
export async function* readRawLines(path: string, chunkSize = 1 << 20, options: ReadLogOptions = {}): AsyncGenerator<RawLine> {
  for await (const batch of readRawLineBatches(path, chunkSize, options)) yield* batch;
}

/**
 * {@link readRawLines} a chunk at a time: the lines that end in each chunk read, in order (a
 * line's bytes are a view of the chunk, valid as long as the caller keeps them). A reader that
 * handles lines one by one without waiting in between saves a promise per line.
 */
export async function* readRawLineBatches(path: string, chunkSize = 1 << 20, options: ReadLogOptions = {}): AsyncGenerator<RawLine[]> {
  const stream = createReadStream(path, { highWaterMark: chunkSize });
  const max = options.maxLineBytes ?? MAX_LINE_BYTES;
  let parts: Buffer[] = [];
  let partBytes = 0;
  /** Bytes of the current line when it is over the limit (its parts are dropped as they come). */
  let skipped = 0;
  let line = 0;
  let read = 0;
  const EMPTY = new Uint8Array(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      read += chunk.length;
      const batch: RawLine[] = [];
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(NEWLINE, from);
        if (nl < 0) break;
        line++;
        if (skipped > 0 || partBytes + (nl - from) > max) {
          batch.push({ line, bytes: EMPTY, terminated: true, tooLong: skipped + partBytes + (nl - from) });
        } else if (parts.length === 0) {
          batch.push({ line, bytes: chunk.subarray(from, nl), terminated: true });
        } else {
          parts.push(chunk.subarray(from, nl));
          batch.push({ line, bytes: Buffer.concat(parts), terminated: true });
        }
        parts = [];
        partBytes = 0;
        skipped = 0;
        from = nl + 1;
      }
      if (from < chunk.length) {
        const rest = chunk.length - from;
        if (skipped > 0 || partBytes + rest > max) {
          skipped += partBytes + rest;
          parts = [];
          partBytes = 0;
        } else {
          parts.push(chunk.subarray(from));
          partBytes += rest;
        }
      }
      if (batch.length > 0) yield batch;
      options.onBytes?.(read);
    }
    if (skipped > 0) {
      line++;
      yield [{ line, bytes: EMPTY, terminated: false, tooLong: skipped }];
    } else if (parts.length > 0) {
      line++;
      yield [{ line, bytes: Buffer.concat(parts), terminated: false }];
    }
  } finally {
    stream.destroy();
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    if (i + n >= b.length && n > 0) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i;
    // Overlong forms, UTF-16 surrogates (CESU-8) and code points past U+10FFFF.
    const c1 = b[i + 1]!;
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0) || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return i;
    i += n + 1;
  }
  return -1;
}

/** One line as text: strict UTF-8, a trailing `\r` dropped. Throws with the byte position when invalid. */
export function decodeLine(bytes: Uint8Array): string {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    const what = at >= 0 ? `byte 0x${bytes[at]!.toString(16).padStart(2, "0")} at byte ${at + 1} of the line` : "a truncated sequence";
    throw new Error(`not valid UTF-8 (${what})`);
  }
  return text.endsWith("\r") ? text.slice(0, -1) : text;
}
