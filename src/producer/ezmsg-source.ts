/**
 * The producer's view of an ezmsg GraphServer: a {@link SettingsSource} backed by the ezmsg
 * client library ({@link GraphClient}, src/ezmsg). The client speaks the protocol and returns its
 * own types; this adapter is the one place where they become the producer's source types.
 */
import type { GraphAddress } from "../ezmsg/address.js";
import { GraphClient, type GraphClientOptions } from "../ezmsg/graph-client.js";
import type { SettingsSource, SettingsSubscription, SettingsValue, SourceSettingsEvent } from "./source.js";

export type EzmsgGraphSourceOptions = GraphClientOptions;

export class EzmsgGraphSource implements SettingsSource {
  readonly description: string;

  private constructor(readonly client: GraphClient) {
    this.description = client.description;
  }

  /** Connect and open a session now (a wrong address fails here); see {@link GraphClient.connect}. */
  static async connect(address?: GraphAddress | string, options: EzmsgGraphSourceOptions = {}): Promise<EzmsgGraphSource> {
    return new EzmsgGraphSource(await GraphClient.connect(address, options));
  }

  settingsSnapshot(): Promise<Map<string, SettingsValue>> {
    return this.client.settingsSnapshot();
  }

  settingsEvents(afterSeq: number): Promise<SourceSettingsEvent[]> {
    return this.client.settingsEvents(afterSeq);
  }

  subscribe(afterSeq: number): Promise<SettingsSubscription> {
    return this.client.subscribe(afterSeq);
  }

  sessionComponents(sessionId: string): Promise<string[] | null> {
    return this.client.sessionComponents(sessionId);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
