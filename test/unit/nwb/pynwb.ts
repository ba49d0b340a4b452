/** Run test/unit/nwb/nwb_types.py (pynwb) and parse its JSON answer. */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const PYTHON = resolve(process.env["NWB_SETTINGS_PYTHON"] ?? ".venv/bin/python");
const SCRIPT = resolve("test/unit/nwb/nwb_types.py");

export interface PynwbTable {
  description: string;
  colnames: string[];
  dtypes: Record<string, string>;
  ids: number[];
  rows: Record<string, unknown>[];
  chunks: Record<string, number[] | null>;
}

export interface PynwbRead {
  validate: string[];
  identifier: string;
  session_description: string;
  session_start_time: string;
  annotations: Record<string, { description: string; data: string[]; timestamps: number[] }>;
  intervals: Record<string, PynwbTable>;
}

function run(cmd: string, path: string): unknown {
  const out = execFileSync(PYTHON, [SCRIPT, cmd, path], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return JSON.parse(out.trim().split("\n").pop()!);
}

export const pynwbRead = (path: string): PynwbRead => run("read", path) as PynwbRead;
export const pynwbWrite = (path: string): void => void run("write", path);
