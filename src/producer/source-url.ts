/**
 * Which {@link SettingsSource} a URL names, as a factory the producer calls on every (re)connect:
 * - `ws://HOST:PORT` or `wss://…` — our WebSocket settings hub ({@link HubReader});
 * - `ezmsg://HOST:PORT` or bare `HOST:PORT` — an ezmsg 3.9 GraphServer ({@link EzmsgGraphSource});
 * - `ezmsg://` or `ezmsg` alone — the GraphServer at `EZMSG_GRAPHSERVER_ADDR`, else 127.0.0.1:25978.
 */
import { parseGraphAddress } from "../ezmsg/address.js";
import { EzmsgGraphSource, type EzmsgGraphSourceOptions } from "./ezmsg-source.js";
import { HubReader, type HubReaderOptions } from "./hub/hub-reader.js";
import type { SettingsSource } from "./source.js";

export type SourceFactory = () => Promise<SettingsSource>;

export interface SourceUrlOptions {
  hub?: HubReaderOptions;
  ezmsg?: EzmsgGraphSourceOptions;
}

/** Parse `url` now (throws on a malformed one); connect each time the factory is called. */
export function sourceFactoryFromUrl(url: string, options: SourceUrlOptions = {}): SourceFactory {
  const text = url.trim();
  if (/^wss?:\/\//i.test(text)) {
    new URL(text); // validate now
    return () => HubReader.connect(text, options.hub);
  }
  const rest = text.replace(/^ezmsg:(\/\/)?/i, "");
  if (rest === "" || /^ezmsg$/i.test(text)) return () => EzmsgGraphSource.connect(undefined, options.ezmsg);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest))
    throw new Error(`unsupported settings source ${JSON.stringify(url)}: use ws://HOST:PORT (hub) or ezmsg://HOST:PORT`);
  const address = parseGraphAddress(rest);
  return () => EzmsgGraphSource.connect(address, options.ezmsg);
}
