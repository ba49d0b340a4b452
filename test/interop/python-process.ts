/**
 * Child Python processes for interop tests: JSON-lines stdout, bounded waits, and cleanup that
 * reaches the whole process group the child leads (ezmsg pipelines fork backend processes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseJson, type JsonValue } from "../../src/events/json.js";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PYTHON = process.env.NWB_SETTINGS_PYTHON ?? join(REPO, ".venv", "bin", "python");
export const HAVE_PYTHON = existsSync(PYTHON);
/** ezmsg 3.10.0b5 in its own venv (scripts/setup-python.sh), for tests run against both ezmsg versions. */
export const PYTHON_EZMSG310 = process.env.NWB_SETTINGS_PYTHON_EZMSG310 ?? join(REPO, ".venv-ezmsg310", "bin", "python");
/** The ezmsg versions data-plane interop tests run against, each with the Python that has it. */
export const EZMSG_PYTHONS: readonly { version: string; python: string }[] = [
  { version: "3.9.0", python: PYTHON },
  { version: "3.10.0b5", python: PYTHON_EZMSG310 },
];

export interface JsonLine {
  /** The raw line, for lossless re-parsing. */
  text: string;
  /** Parsed with our lossless JSON model: ints are bigint, floats are numbers, objects are Maps. */
  value: JsonValue;
}

export class PythonProcess {
  readonly lines: JsonLine[] = [];
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private listeners = new Set<() => void>();
  private readonly child: ChildProcess;

  constructor(script: string, args: string[], env: NodeJS.ProcessEnv = {}, python: string = PYTHON) {
    if (!existsSync(python)) throw new Error(`No Python at ${python}: run \`npm run setup:python\``);
    this.child = spawn(python, ["-u", join(REPO, "test", "interop", script), ...args], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so cleanup can reach forked children
    });
    this.child.stderr!.setEncoding("utf8");
    this.child.stderr!.on("data", (d: string) => {
      this.stderr = (this.stderr + d).slice(-20_000);
    });
    createInterface({ input: this.child.stdout! }).on("line", (text) => {
      if (!text.trim().startsWith("{")) return;
      this.lines.push({ text, value: parseJson(text) });
      for (const l of this.listeners) l();
    });
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        for (const l of this.listeners) l();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** First stdout JSON line whose "event" is `event`, waiting up to `timeoutMs`. */
  waitForEvent(event: string, timeoutMs: number): Promise<JsonLine> {
    const find = (): JsonLine | undefined => this.lines.find((l) => l.value instanceof Map && l.value.get("event") === event);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = find();
        if (hit) {
          done();
          resolve(hit);
        } else if (this.exitInfo !== null) {
          done();
          reject(new Error(`${this.describe()} exited (${JSON.stringify(this.exitInfo)}) before printing "${event}"\nstderr:\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.describe()} did not print "${event}" within ${timeoutMs} ms\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  describe(): string {
    return `${this.child.spawnargs.slice(2, 3).join(" ")} (pid ${this.child.pid})`;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /** SIGTERM, wait up to `timeoutMs`, then SIGKILL the whole process group. */
  async stop(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.killGroup(), timeoutMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  /** SIGKILL the process group this child leads (the child and anything it forked). */
  killGroup(): void {
    try {
      // SIGKILL also ends stopped (SIGSTOP) processes; no SIGCONT, which would let them run first.
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
