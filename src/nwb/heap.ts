/**
 * Moving bytes into the wasm heap for h5wasm's low-level write call. `Module.HEAPU8` is replaced
 * when the heap grows, so it is re-read after every allocation.
 */
import type { H5Module } from "./hdf5.js";

const utf8 = new TextEncoder();

/** Allocate `size` bytes; the caller frees with `module._free`. */
function malloc(module: H5Module, size: number): number {
  const ptr = module._malloc(Math.max(size, 1));
  if (!ptr) throw new Error(`wasm heap allocation of ${size} bytes failed`);
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

/**
 * Lay out variable-length UTF-8 strings as HDF5 expects in memory: an array of 4-byte pointers to
 * NUL-terminated strings. Strings must not contain NUL (HDF5 would cut them there).
 */
export function withHeapVlenStrings<T>(module: H5Module, strings: readonly string[], use: (ptr: number) => T): T {
  const encoded = strings.map((s) => utf8.encode(s));
  const textSize = encoded.reduce((n, b) => n + b.byteLength + 1, 0);
  const textPtr = malloc(module, textSize);
  let tablePtr = 0;
  try {
    tablePtr = malloc(module, 4 * strings.length);
    const heap = module.HEAPU8; // after both allocations
    const view = new DataView(heap.buffer);
    let at = textPtr;
    encoded.forEach((bytes, i) => {
      heap.set(bytes, at);
      heap[at + bytes.byteLength] = 0;
      view.setUint32(tablePtr + 4 * i, at, true);
      at += bytes.byteLength + 1;
    });
    return use(tablePtr);
  } finally {
    if (tablePtr) module._free(tablePtr);
    module._free(textPtr);
  }
}
