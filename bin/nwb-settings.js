#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/cli by `npm run build` (run automatically by npm ci).
import { main } from "../dist/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`nwb-settings: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
