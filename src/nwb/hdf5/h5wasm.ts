/**
 * The h5wasm module, loaded once, with HDF5 errors turned into exceptions. Everything in src/nwb
 * goes through here; nothing outside src/nwb touches h5wasm.
 */
import h5wasm from "h5wasm/node";

export type H5Module = Awaited<typeof h5wasm.ready>;
export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

let loaded: Promise<H5Module> | undefined;

export function loadHdf5(): Promise<H5Module> {
  loaded ??= h5wasm.ready.then((m) => {
    m.activate_throwing_error_handler();
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
    throw new Error(`cannot ${verb} ${path}${verb === "open" ? " as HDF5" : ""}: ${errorText(err)}`);
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

export { h5wasm };
