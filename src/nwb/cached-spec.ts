/**
 * The schema every NWB file carries in /specifications (as pynwb writes it): one group per
 * namespace and version, one UTF-8 text dataset per schema source, and a root `.specloc`
 * reference to the group. The texts come from assets/nwb-cached-spec.json (scripts/extract-nwb-spec.py).
 */
import { existsSync, readFileSync } from "node:fs";
import type { H5File } from "./hdf5/h5wasm.js";
import { NwbError } from "../errors.js";

interface CachedNamespace {
  version: string;
  sources: Record<string, string>;
}

let cached: Record<string, CachedNamespace> | undefined;

/** assets/ from this module in dist/nwb/ (tsc output), or from the one-file bundle in dist/. */
const SPEC_LOCATIONS = ["../../assets/nwb-cached-spec.json", "../assets/nwb-cached-spec.json"];

export function cachedSpec(): Record<string, CachedNamespace> {
  if (cached === undefined) {
    const urls = SPEC_LOCATIONS.map((p) => new URL(p, import.meta.url));
    const url = urls.find((u) => existsSync(u)) ?? urls[0]!;
    cached = JSON.parse(readFileSync(url, "utf8")) as Record<string, CachedNamespace>;
  }
  return cached;
}

/** The NWB core version of the cached schema (what `nwb_version` must say). */
export function coreVersion(): string {
  const core = cachedSpec()["core"];
  if (!core) throw new NwbError("assets/nwb-cached-spec.json has no core namespace");
  return core.version;
}

export function writeCachedSpec(file: H5File): void {
  const root = file.create_group("specifications");
  for (const [ns, { version, sources }] of Object.entries(cachedSpec())) {
    file.create_group(`specifications/${ns}`);
    const group = file.create_group(`specifications/${ns}/${version}`);
    for (const [name, text] of Object.entries(sources)) group.create_dataset({ name, data: text, shape: [], dtype: "S" });
  }
  file.create_attribute(".specloc", root.create_reference(), null, "Reference");
}
