/**
 * Moving bytes into the wasm heap for h5wasm's low-level write call. `Module.HEAPU8` is replaced
 * when the heap grows, so it is re-read after every allocation.
 */
import type { H5Module } from "./h5wasm.js";
import { NwbError } from "../../errors.js";
import { textProblem } from "./text-rules.js";

const utf8 = new TextEncoder();

/** Allocate `size` bytes; the caller frees with `module._free`. */
function malloc(module: H5Module, size: number): number {
  const ptr = module._malloc(Math.max(size, 1));
  if (!ptr) throw new NwbError(`wasm heap allocation of ${size} bytes failed`);
  return ptr;
}

/** Copy raw element bytes into the heap and run `use(ptr)`, freeing afterwards. */
export function withHeapBytes<T>(module: H5Module, bytes: Uint8Array, use: (ptr: number) => T): T {
  const ptr = malloc(module, bytes.byteLength);
  try {
    module.HEAPU8.set(bytes, ptr);
    return use(ptr);
  } finally {
    module._free(ptr);
  }
}

/** Text that {@link textProblem} may reject: a NUL or any surrogate (paired ones are fine). */
const MAYBE_BAD_TEXT = /[\u0000\ud800-\udfff]/;

/**
 * Lay out variable-length UTF-8 strings as HDF5 expects in memory: an array of 4-byte pointers to
 * NUL-terminated strings. A string HDF5 cannot store as it is (a NUL, where HDF5 would cut it; a
 * lone surrogate, which has no UTF-8 form) is refused with an {@link NwbError} naming the problem,
 * before anything is written.
 *
 * The whole batch is encoded by one native call, straight into the heap: the strings joined by
 * NUL (which is also each one's terminator). A first try assumes ASCII (one byte per UTF-16 unit);
 * if anything else is in the batch the encoder cannot fit it, and the batch is encoded again into
 * its exact UTF-8 size. An ASCII batch has no surrogate, and each string's terminator is found by
 * a native search of the joined text, so text is checked character by character only when the batch
 * is not ASCII or holds a NUL of its own.
 */
export function withHeapVlenStrings<T>(module: H5Module, strings: readonly string[], use: (ptr: number) => T): T {
  const n = strings.length;
  const joined = `${strings.join("\u0000")}\u0000`;
  let textSize = joined.length;
  let textPtr = malloc(module, textSize);
  let tablePtr = 0;
  try {
    const ascii = utf8.encodeInto(joined, module.HEAPU8.subarray(textPtr, textPtr + textSize)).read === joined.length;
    if (!ascii) {
      checkText(strings);
      module._free(textPtr);
      textPtr = 0;
      textSize = Buffer.byteLength(joined, "utf8");
      textPtr = malloc(module, textSize);
      utf8.encodeInto(joined, module.HEAPU8.subarray(textPtr, textPtr + textSize));
    }
    tablePtr = malloc(module, 4 * n);
    const view = new DataView(module.HEAPU8.buffer); // after the last allocation
    let at = textPtr;
    let from = 0; // in `joined`
    for (let i = 0; i < n; i++) {
      view.setUint32(tablePtr + 4 * i, at, true);
      const s = strings[i]!;
      if (ascii) {
        // Its terminator is the first NUL from its start (a native search; the heap's own is slower).
        if (joined.indexOf("\u0000", from) !== from + s.length) checkText([s]);
        from += s.length + 1;
        at += s.length + 1;
      } else at += Buffer.byteLength(s, "utf8") + 1;
    }
    return use(tablePtr);
  } finally {
    if (tablePtr) module._free(tablePtr);
    if (textPtr) module._free(textPtr);
  }
}

/** Throw for the first string that {@link textProblem} rejects. */
function checkText(strings: readonly string[]): void {
  for (const s of strings) {
    if (!MAYBE_BAD_TEXT.test(s)) continue; // native scan; the precise rule only when needed
    const problem = textProblem(s);
    if (problem) throw new NwbError(`text ${problem}`);
  }
}
