/**
 * Option values checked where they are parsed, each failure a {@link UsageError} (exit 2) saying
 * what is wrong and what to give instead; and the OS errors commands meet turned into words.
 */
import { stat } from "node:fs/promises";
import { parseSinkList, type SinkName } from "../sinks/sink-set.js";
import { sourceFactoryFromUrl } from "../producer/source-url.js";
import { UsageError } from "./context.js";

/** Longest wait a Node.js timer can take (2^31 − 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function checkPort(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw new UsageError(`${name} needs a TCP port number from 0 to 65535 (0 picks a free one), got ${describe(value)}`);
  }
}

export function checkWholeNumber(name: string, value: unknown, min: number, max: number, unit: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} needs a whole number of ${unit} from ${min} to ${max}, got ${describe(value)}`);
  }
}

export function checkPositive(name: string, value: unknown, max: number, unit: string): void {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`${name} needs a number of ${unit} above 0 and at most ${max}, got ${describe(value)}`);
  }
}

export function checkSinks(text: unknown): SinkName[] {
  try {
    return parseSinkList(String(text));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A settings source URL, checked now (a malformed one is a wrong call, not a failed connect). */
export function checkSource(source: unknown): void {
  const text = String(source ?? "");
  if (text === "embedded") return;
  try {
    sourceFactoryFromUrl(text);
  } catch (err) {
    const msg = (err as Error).message;
    const why = /Invalid URL/i.test(msg) ? "it is not a valid URL" : msg.replace(/^unsupported settings source "[^"]*": /, "");
    throw new UsageError(
      `--source ${JSON.stringify(text)} is not a settings source (${why}); give embedded, ws://HOST:PORT (a hub) or ezmsg://HOST:PORT (a GraphServer)`,
    );
  }
  const port = /:(\d*)\/?$/.exec(text.replace(/^[a-z]+:\/\//i, ""))?.[1];
  if (port !== undefined && (port === "" || Number(port) > 65535 || Number(port) < 1)) {
    throw new UsageError(`--source ${JSON.stringify(text)} has no usable port (give HOST:PORT with a port from 1 to 65535)`);
  }
}

/** An output file path: not empty, not a folder. */
export async function checkOutputPath(name: string, path: unknown): Promise<void> {
  if (typeof path !== "string" || path.trim() === "") throw new UsageError(`${name} needs a file path`);
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) throw new UsageError(`${name} ${path} is a folder; give a file name inside it (e.g. ${path.replace(/\/$/, "")}/session.nwb)`);
}

/** A listening socket that could not bind, in words, with what to do. */
export function listenErrorText(err: unknown, port: number, portOption: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE")
    return `port ${port} is already in use (another hub or program listens there); use ${portOption} 0 to pick a free port, or ${portOption} N for another`;
  if (code === "EACCES") return `not allowed to listen on port ${port} (ports below 1024 need privileges); use ${portOption} 0 to pick a free port`;
  if (code === "EADDRNOTAVAIL") return `cannot listen on that address (it is not an address of this machine)`;
  return `cannot listen on port ${port}: ${(err as Error).message}`;
}

/** mkdir of an output folder, with a plain message. */
export function folderErrorText(dir: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === "EEXIST" || code === "ENOTDIR"
      ? "a file of that name is in the way"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EROFS"
          ? "the file system is read-only"
          : (err as Error).message;
  return `cannot create the output folder ${dir}: ${why}`;
}

function describe(v: unknown): string {
  if (v === undefined) return "no value";
  if (typeof v === "number" && Number.isNaN(v)) return "no number";
  return JSON.stringify(v) ?? String(v);
}
