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
}

const NEWLINE = 0x0a;

/** Split a file into lines on `\n` bytes, streaming (lines of any length). I/O errors are thrown. */
export async function* readRawLines(path: string, chunkSize = 1 << 20): AsyncGenerator<RawLine> {
  const stream = createReadStream(path, { highWaterMark: chunkSize });
  let parts: Buffer[] = [];
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(NEWLINE, from);
        if (nl < 0) break;
        parts.push(chunk.subarray(from, nl));
        line++;
        yield { line, bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts), terminated: true };
        parts = [];
        from = nl + 1;
      }
      if (from < chunk.length) parts.push(chunk.subarray(from));
    }
    if (parts.length > 0) {
      line++;
      yield { line, bytes: Buffer.concat(parts), terminated: false };
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
