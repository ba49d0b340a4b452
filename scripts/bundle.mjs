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
  external: ["bufferutil", "utf-8-validate", "h5wasm", "h5wasm/*"],
  // CommonJS dependencies bundled into ESM need a require().
  banner: { js: 'import { createRequire as __nwbsCreateRequire } from "node:module"; const require = __nwbsCreateRequire(import.meta.url);' },
};

await build({ ...common, entryPoints: { "nwb-settings": "src/cli/main.ts" }, outExtension: { ".js": ".mjs" }, outdir: "dist" });
await build({ ...common, entryPoints: { "convert-worker": "src/app/convert/convert-worker.ts" }, outdir: "dist" });
