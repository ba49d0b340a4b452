/**
 * The h5wasm module, loaded once, with HDF5 errors turned into exceptions. Everything in src/nwb
 * goes through here; nothing outside src/nwb touches h5wasm.
 *
 * h5wasm is imported on the first {@link loadHdf5}, not with this module: importing it compiles
 * the HDF5 wasm and initialises the library (~100-170 ms of CPU, ~20 MiB), which a command that
 * writes no file (`--help`, `hub`, convert's coordinating thread) should not pay. Callers that
 * will write start the load early and overlap it with reading their input. (In the bundled CLI the
 * wasm is read from dist/hdf5.wasm rather than decoded from the string h5wasm's glue inlines; see
 * scripts/bundle.mjs.)
 */
import type H5wasmApi from "h5wasm/node";
import { NwbError } from "../../errors.js";

type H5wasm = typeof H5wasmApi;
export type H5Module = Awaited<H5wasm["ready"]>;
export type H5File = InstanceType<H5wasm["File"]>;
export type H5Group = InstanceType<H5wasm["Group"]>;
export type H5Dataset = InstanceType<H5wasm["Dataset"]>;

/** The h5wasm API (File, Group, Dataset, …): set once {@link loadHdf5} has resolved. */
export let h5wasm: H5wasm;

let loaded: Promise<H5Module> | undefined;

export function loadHdf5(): Promise<H5Module> {
  loaded ??= import("h5wasm/node").then(async ({ default: api }) => {
    const m = await api.ready;
    m.activate_throwing_error_handler();
    h5wasm = api;
    return m;
  });
  return loaded;
}

export type OpenMode = "w" | "a" | "r" | "x";

/** Open an HDF5 file on the real filesystem (h5wasm's Node build reads and writes disk directly). */
export async function openHdf5(path: string, mode: OpenMode): Promise<{ module: H5Module; file: H5File }> {
  const module = await loadHdf5();
  try {
    return { module, file: new h5wasm.File(path, mode) };
  } catch (err) {
    const verb = mode === "w" || mode === "x" ? "create" : "open";
    throw new NwbError(`cannot ${verb} ${path}${verb === "open" ? " as HDF5" : ""}: ${errorText(err)}`, path, err);
  }
}

/**
 * One readable line from an error. HDF5 errors arrive as a whole diagnostic stack
 * ("HDF5-DIAG: … #000: … #007: …"); the innermost frame and its OS error say what went wrong.
 */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (!text.includes("HDF5-DIAG")) return text;
  const frames = [...text.matchAll(/#\d+: \S+ line \d+ in ([^\n]+)/g)].map((m) => m[1]!.trim());
  const os = /error message = '([^']*)'/.exec(text)?.[1];
  const innermost = frames[frames.length - 1] ?? text.split("\n")[0]!;
  return os ?? innermost.replace(/^\S+\(\): /, "");
}
