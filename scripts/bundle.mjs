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
import { dirname } from "node:path";
import { build } from "esbuild";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // ws loads these native add-ons only if installed. h5wasm stays a package of its own: its 4 MB
  // glue (the wasm inlined as base64) is imported on first use only (src/nwb/hdf5/h5wasm.ts), so
  // commands and threads that write no file never load it.
  // vega and resvg (show --plot) stay packages too: loaded only when a plot is drawn, and resvg is a
  // native add-on.
  external: ["bufferutil", "utf-8-validate", "h5wasm", "h5wasm/*", "vega", "@resvg/resvg-js"],
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

await build({ ...common, plugins: [lazyHelpLayout], entryPoints: { "nwb-settings": "src/cli/main.ts" }, outExtension: { ".js": ".mjs" }, outdir: "dist" });
await build({ ...common, entryPoints: { "convert-worker": "src/app/convert/convert-worker.ts" }, outdir: "dist" });
