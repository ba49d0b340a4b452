/**
 * `npm run build`, second step: bundle the command line into one file with esbuild.
 *
 * Why: `nwb-settings` started by resolving, reading and compiling ~70 ES modules of ours and of
 * yargs/ws/yaml one by one, and by running CommonJS export detection on h5wasm's 4 MB glue file,
 * ~150-200 ms of CPU before the first event (profile in docs/benchmarks.md). One pre-linked file
 * is read and compiled once. assets/ is read at run time, relative to dist/. The tsc output in dist/ stays as it is (tests, bench and library
 * users import it); the bin runs the bundle.
 *
 *   dist/nwb-settings.mjs   the CLI (bin/nwb-settings.js imports it)
 *   dist/convert-worker.js  convert's worker thread (found next to the CLI bundle)
 */
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // Whitespace and comments out, names kept (stack traces and error names read as in the source;
  // the linked source map maps them back): V8 reads and compiles the start-up path ~15 ms sooner.
  minifyWhitespace: true,
  minifySyntax: true,
  // ws loads these native add-ons only if installed. vega and resvg (show --plot) stay packages of
  // their own: loaded only when a plot is drawn, and resvg is a native add-on. h5wasm is bundled
  // (its glue through the wasmSidecar plugin below) into a chunk imported on first use only
  // (src/nwb/hdf5/h5wasm.ts), so commands and threads that write no file never load it.
  external: ["bufferutil", "utf-8-validate", "vega", "@resvg/resvg-js"],
  // The package's version for `--version` (src/cli/main.ts passes it to yargs; see noPackageSearch).
  define: { __NWBS_VERSION__: JSON.stringify(JSON.parse(await readFile("package.json", "utf8")).version) },
  // CommonJS dependencies bundled into ESM need a require().
  banner: { js: 'import { createRequire as __nwbsCreateRequire } from "node:module"; const require = __nwbsCreateRequire(import.meta.url);' },
};

/**
 * yargs lays out help with cliui, whose string-width and wrap-ansi build Unicode tables when they
 * are imported (an RGI_Emoji regex, an Intl.Segmenter, ansi-styles' colour tables): ~35 ms of CPU
 * at every start, for text that only `--help` and usage errors print. This plugin gives each of
 * them a stand-in that loads the real module (bundled as it is) on its first call.
 */
const lazyHelpLayout = {
  name: "lazy-help-layout",
  setup(b) {
    b.onResolve({ filter: /^(string-width|wrap-ansi)$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: { real: true } });
      if (real.errors.length > 0) return { errors: real.errors };
      return { path: real.path, namespace: "lazy-help-layout" };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-help-layout" }, (args) => ({
      contents: `let real; export default function lazy(...a) { real ??= require(${JSON.stringify(args.path)}).default; return real(...a); }`,
      loader: "js",
      resolveDir: dirname(args.path),
    }));
  },
};

/**
 * yargs guesses the program's version at construction by searching for a package.json upwards
 * from the bundle's node_modules folder, which a bundle does not have, so from the user's working
 * directory: a directory listing of every folder up to the root, at every start (a folder of
 * thousands of logs is read whole; ~6 ms for a 6,000-entry folder measured). The bin passes the
 * version itself (the define above), and nothing else of ours asks yargs for package.json, so the
 * search (escalade, yargs's only use of it) finds nothing and reads nothing.
 */
const noPackageSearch = {
  name: "no-package-search",
  setup(b) {
    b.onResolve({ filter: /^escalade\/sync$/ }, () => ({ path: "escalade-sync", namespace: "no-package-search" }));
    b.onLoad({ filter: /.*/, namespace: "no-package-search" }, () => ({ contents: "export default function findUp() { return undefined; }", loader: "js" }));
  },
};

/**
 * h5wasm's Node glue (dist/node/hdf5_util.js, 4 MB) carries the HDF5 wasm inside a JavaScript
 * string literal, decoded to bytes at load. Every process that writes a file paid for it: V8
 * decoding the 4 MB UTF-8 source into an 8 MB two-byte string (kept for the module's lifetime),
 * parsing it, and the glue turning it into a 3.5 MB byte array — ~90 ms of CPU of the ~250 ms
 * h5wasm load, and ~15 MiB of memory (profile in docs/benchmarks.md). This plugin decodes the
 * literal once, at build time, into dist/hdf5.wasm, and bundles the glue with the literal replaced
 * by a read of that file. The bytes are exactly h5wasm's (the build checks they are valid wasm;
 * test/unit/cli/bundle.test.ts compares them with what h5wasm's own glue instantiates); nothing
 * else in the glue changes. If a new h5wasm stops inlining its wasm this way the
 * build fails here, naming the file, rather than shipping a glue that cannot find its wasm.
 */
const WASM_SIDECAR = "hdf5.wasm";
const wasmSidecar = {
  name: "wasm-sidecar",
  setup(b) {
    b.onLoad({ filter: /[\\/]h5wasm[\\/]dist[\\/]node[\\/]hdf5_util\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const open = "findWasmBinary(){return binaryDecode('";
      const start = source.indexOf(open);
      const end = start < 0 ? -1 : source.indexOf("')}", start + open.length);
      if (start < 0 || end < 0 || source.indexOf(open, end) >= 0) {
        return { errors: [{ text: `${args.path}: the inlined wasm (findWasmBinary/binaryDecode) was not found exactly once; update scripts/bundle.mjs for this h5wasm` }] };
      }
      const literal = source.slice(start + open.length - 1, end + 1);
      const text = new Function(`return ${literal};`)();
      // Emscripten's binary encoding: one character per byte (the glue decodes c as (~c >> 8) & c).
      const bytes = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        bytes[i] = (~c >> 8) & c;
      }
      if (!WebAssembly.validate(bytes)) return { errors: [{ text: `${args.path}: the decoded inlined wasm is not valid wasm` }] };
      await writeFile(resolve("dist", WASM_SIDECAR), bytes);
      const read = `findWasmBinary(){return require("fs").readFileSync(new URL(${JSON.stringify(`./${WASM_SIDECAR}`)},import.meta.url))}`;
      return { contents: source.slice(0, start) + read + source.slice(end + 3), loader: "js" };
    });
  },
};

// Split per command: main.ts imports each command's module on demand, and esbuild puts each such
// import (and the code only it needs) into a file of its own beside the entry, code shared by
// several commands into dist/chunk-*.mjs. `convert` then reads and compiles about a third of the
// CLI (docs/benchmarks.md). They stay in dist/ itself: modules find assets/ and the worker
// relative to their own URL. The .mjs files of an earlier build that this one did not write are
// removed (tsc writes only .js into dist/).
const cli = await build({
  ...common,
  plugins: [lazyHelpLayout, noPackageSearch, wasmSidecar],
  entryPoints: { "nwb-settings": "src/cli/main.ts" },
  outExtension: { ".js": ".mjs" },
  outdir: "dist",
  splitting: true,
  metafile: true,
});
const written = new Set(Object.keys(cli.metafile.outputs).map((p) => resolve(p)));
for (const f of await readdir("dist")) {
  const p = resolve("dist", f);
  if (/\.mjs(\.map)?$/.test(f) && !written.has(p)) await rm(p);
}
await build({ ...common, plugins: [wasmSidecar], entryPoints: { "convert-worker": "src/app/convert/convert-worker.ts" }, outdir: "dist" });
