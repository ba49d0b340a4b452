/**
 * GraphServer addresses as ezmsg writes them: "HOST:PORT" (one colon, so bare IPv6 literals are
 * not supported — ezmsg itself splits on ":"). The default comes from `EZMSG_GRAPHSERVER_ADDR`,
 * else 127.0.0.1:25978, like ezmsg's `GraphService.default_address()`.
 */

export interface GraphAddress {
  host: string;
  port: number;
}

export const GRAPHSERVER_ADDR_ENV = "EZMSG_GRAPHSERVER_ADDR";
export const DEFAULT_GRAPH_ADDRESS: Readonly<GraphAddress> = Object.freeze({ host: "127.0.0.1", port: 25978 });

/** Parse "HOST:PORT". Throws an Error naming the bad part. */
export function parseGraphAddress(text: string): GraphAddress {
  const parts = text.trim().split(":");
  if (parts.length !== 2) {
    throw new Error(`invalid ezmsg GraphServer address ${JSON.stringify(text)}: expected HOST:PORT`);
  }
  const [host, portText] = parts as [string, string];
  if (host === "") throw new Error(`invalid ezmsg GraphServer address ${JSON.stringify(text)}: empty host`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new Error(`invalid ezmsg GraphServer address ${JSON.stringify(text)}: port must be 1-65535`);
  }
  return { host, port: Number(portText) };
}

/** `EZMSG_GRAPHSERVER_ADDR` if set and non-blank, else 127.0.0.1:25978. */
export function defaultGraphAddress(env: NodeJS.ProcessEnv = process.env): GraphAddress {
  const v = env[GRAPHSERVER_ADDR_ENV];
  if (v === undefined || v.trim() === "") return { ...DEFAULT_GRAPH_ADDRESS };
  return parseGraphAddress(v);
}

export function formatGraphAddress(a: GraphAddress): string {
  return `${a.host}:${a.port}`;
}
