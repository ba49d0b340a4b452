#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/cli and bundled into one file by `npm run build`
// (run automatically by npm ci; see scripts/bundle.mjs).
import { main } from "../dist/nwb-settings.mjs";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`nwb-settings: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
