/** The embedded WebSocket settings hub: server, reader (a SettingsSource) and publisher clients. */
export { HubServer, type HubServerOptions, type HubStats } from "./hub-server.js";
export { HubReader, HubSubscription, type HubReaderOptions } from "./hub-reader.js";
export { HubPublisher, type HubPublisherOptions, type PublishOptions } from "./hub-publisher.js";
export type { HubClientOptions, HubHello } from "./hub-connection.js";
export { CloseCode, HubError, type HubErrorCode } from "./protocol.js";
export { SettingsStore, type SettingsStoreOptions } from "./settings-store.js";
export { HubStreamPublisher, type StreamSpec } from "./hub-publisher.js";
export { HubStreamReader, type HubStreamHandler } from "./hub-stream-reader.js";
export { type StreamDeclaration, type StreamDtype, type StreamFrame, encodeFrame, parseFrame, STREAM_DTYPES } from "./stream-protocol.js";
