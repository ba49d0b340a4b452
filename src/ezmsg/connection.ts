/**
 * One TCP connection to an ezmsg 3.9 / 3.10 GraphServer, up to and including the version banner the
 * server writes first on every connection. Used by the session and by each subscription.
 */
import { createConnection, type Socket } from "node:net";
import { type GraphAddress, formatGraphAddress } from "./address.js";
import { EzmsgConnectionError, EzmsgProtocolError, EzmsgTimeoutError } from "./errors.js";
import { SocketReader } from "./wire.js";

/** The ezmsg version this client was written against. */
export const SUPPORTED_EZMSG_VERSION = "3.9.0";
/**
 * Versions whose protocol this client was checked against (interop tests run both): 3.10.0b5's
 * control plane is 3.9's; its data plane adds axis elision, which a channel opts into with
 * ELIDE_OK (docs/streams.md). A server announcing another version gets a warning.
 */
export const SUPPORTED_EZMSG_VERSIONS: readonly string[] = [SUPPORTED_EZMSG_VERSION, "3.10.0b5"];

/** Longest banner we accept; a real one is a version string like "3.9.0". */
const MAX_BANNER_BYTES = 64;

export interface ConnectOptions {
  /** Timeout for TCP connect + banner, in ms. */
  connectTimeoutMs: number;
  /** Called with a warning (e.g. server version is not 3.9.0). */
  onWarning: (message: string) => void;
  /** Buffered bytes above which the socket is paused. */
  highWaterBytes?: number;
}

export interface OpenConnection {
  socket: Socket;
  reader: SocketReader;
  serverVersion: string;
}

export function describeAddress(address: GraphAddress): string {
  return `ezmsg://${formatGraphAddress(address)}`;
}

/** Run `p` with a deadline; on expiry call `onTimeout` (which should tear down what `p` waits on) and reject. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (!Number.isFinite(ms) || ms <= 0) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Connect and read the banner. Warns (does not fail) if the version is not {@link SUPPORTED_EZMSG_VERSION}. */
export async function openConnection(address: GraphAddress, purpose: string, options: ConnectOptions): Promise<OpenConnection> {
  const source = `${purpose} on ${describeAddress(address)}`;
  const socket = createConnection({ host: address.host, port: address.port });
  socket.setNoDelay(true);
  // The only liveness signal for a silent subscription: no heartbeat exists in the protocol.
  socket.setKeepAlive(true, 10_000);
  // A socket error must never become an unhandled 'error' event; readers see it via SocketReader.
  socket.on("error", () => {});
  const reader = new SocketReader(socket, { source, highWaterBytes: options.highWaterBytes });

  const handshake = (async () => {
    await new Promise<void>((resolve, reject) => {
      const onConnect = (): void => {
        socket.off("error", onError);
        resolve();
      };
      const onError = (err: Error): void => {
        socket.off("connect", onConnect);
        reject(new EzmsgConnectionError(source, `cannot connect (${(err as NodeJS.ErrnoException).code ?? err.message})`, { cause: err }));
      };
      socket.once("connect", onConnect);
      socket.once("error", onError);
    });
    let banner: string;
    try {
      banner = await reader.readStr(MAX_BANNER_BYTES, "version banner");
    } catch (err) {
      if (err instanceof EzmsgProtocolError) {
        throw new EzmsgProtocolError(source, `not an ezmsg GraphServer: ${err.problem}`);
      }
      throw err;
    }
    if (!/^[\x21-\x7e]{1,64}$/.test(banner)) {
      throw new EzmsgProtocolError(source, `not an ezmsg GraphServer: banner ${JSON.stringify(banner)} is not a version string`);
    }
    if (!SUPPORTED_EZMSG_VERSIONS.includes(banner)) {
      options.onWarning(
        `${source}: server runs ezmsg ${banner}; this client speaks the ezmsg ${SUPPORTED_EZMSG_VERSIONS.join(" / ")} protocol (the protocol is unversioned, so continuing)`,
      );
    }
    return banner;
  })();

  try {
    const serverVersion = await withTimeout(handshake, options.connectTimeoutMs, () => {
      const err = new EzmsgTimeoutError(source, `no connection and version banner within ${options.connectTimeoutMs} ms`);
      reader.abort(err);
      socket.destroy();
      return err;
    });
    return { socket, reader, serverVersion };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** Half-close, then destroy if the peer does not close within `graceMs`. Resolves when closed. */
export function closeSocket(socket: Socket, graceMs = 1000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}
