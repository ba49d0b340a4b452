/**
 * The layering of docs/architecture.md, checked: each folder of src/ imports only from the
 * folders listed for it. Data flows one way (source → producer → event → journal → sink → output
 * → NWB layer → h5wasm); a new import that reaches around a layer fails here.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = resolve("src");

/** Folder (first path part under src/, or the module name for a top-level file) → what it may import. */
const MAY_IMPORT: Record<string, string[]> = {
  "errors.ts": [],
  events: ["errors.ts"],
  ezmsg: ["events"], // JsonValue only: the client library knows nothing of the producer
  nwb: ["errors.ts"], // NWB and HDF5, nothing of events or ezmsg
  output: ["nwb", "errors.ts"],
  sinks: ["events", "output", "nwb", "errors.ts"],
  journal: ["events", "nwb", "errors.ts"], // nwb: the session metadata it records
  producer: ["events", "ezmsg", "errors.ts"],
  app: ["events", "ezmsg", "producer", "journal", "sinks", "output", "nwb", "errors.ts"],
  cli: ["app", "events", "producer", "sinks", "nwb", "errors.ts"],
};

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

const layerOf = (file: string): string => relative(SRC, file).split("/")[0]!;

describe("architecture", () => {
  it("every import in src/ follows the layering", () => {
    const problems: string[] = [];
    for (const f of files(SRC)) {
      const from = layerOf(f);
      const allowed = MAY_IMPORT[from];
      if (!allowed) {
        problems.push(`${relative(SRC, f)}: folder ${from} is not in docs/architecture.md`);
        continue;
      }
      for (const m of readFileSync(f, "utf8").matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
        const target = resolve(dirname(f), m[1]!);
        const to = layerOf(target.replace(/\.js$/, ".ts"));
        if (to !== from && !allowed.includes(to)) problems.push(`${relative(SRC, f)} imports ${relative(SRC, target)} (${from} may not import ${to})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("the monitor sees a recording only through the observer interface (app/record/recording-observer.ts)", () => {
    const allowed = (target: string): boolean =>
      ["events/", "errors.ts", "app/monitor/", "app/record/recording-observer.ts"].some((p) => target === p || target.startsWith(p));
    const problems: string[] = [];
    for (const f of files(join(SRC, "app", "monitor")))
      for (const m of readFileSync(f, "utf8").matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
        const target = relative(SRC, resolve(dirname(f), m[1]!)).replace(/\.js$/, ".ts");
        if (!allowed(target)) problems.push(`${relative(SRC, f)} imports ${target}`);
      }
    expect(problems).toEqual([]);
  });

  it("h5wasm is imported only inside src/nwb/hdf5", () => {
    const outside = [...files(SRC)].filter((f) => !relative(SRC, f).startsWith("nwb/hdf5/") && /from "h5wasm/.test(readFileSync(f, "utf8")));
    expect(outside.map((f) => relative(SRC, f))).toEqual([]);
  });
});
