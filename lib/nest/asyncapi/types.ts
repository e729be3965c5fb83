import type { ProtocolVersion } from '../../driver/index.js';
import type { AsyncApiPublisher, JsonSchema } from './decorators.js';

/** A `$ref` object. */
export interface Ref {
  $ref: string;
}

/** The parts of an AsyncAPI 3.0.0 document this package writes (see https://www.asyncapi.com/docs/reference/specification/v3.0.0). */
export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  info: { title: string; version: string; description?: string };
  defaultContentType?: string;
  servers?: Record<string, AsyncApiServer>;
  channels: Record<string, AsyncApiChannel>;
  operations: Record<string, AsyncApiOperationObject>;
  components?: { schemas?: Record<string, JsonSchema>; messages?: Record<string, AsyncApiMessage> };
  [extension: `x-${string}`]: unknown;
}

export interface AsyncApiServer {
  host: string;
  protocol: string;
  protocolVersion?: string;
  pathname?: string;
  description?: string;
  bindings?: { mqtt: Record<string, unknown> };
}

export interface AsyncApiChannel {
  address: string | null;
  title?: string;
  description?: string;
  messages: Record<string, AsyncApiMessage>;
  parameters?: Record<string, { description?: string }>;
}

export interface AsyncApiMessage {
  name: string;
  title?: string;
  summary?: string;
  contentType?: string;
  payload: JsonSchema;
  bindings?: { mqtt: Record<string, unknown> };
}

export interface AsyncApiOperationObject {
  action: 'send' | 'receive';
  channel: Ref;
  title?: string;
  summary?: string;
  description?: string;
  messages: Ref[];
  bindings?: { mqtt: Record<string, unknown> };
  reply?: { address?: { location: string; description?: string }; channel?: Ref; messages?: Ref[] };
  [extension: `x-${string}`]: unknown;
}

/** A broker the service talks to, for the document's `servers`. */
export interface AsyncApiServerInfo {
  /** `mqtt://host:1883`, `mqtts://…`, `ws://…`, `wss://…` */
  url: string;
  protocolVersion?: ProtocolVersion;
  description?: string;
  clientId?: string;
  keepalive?: number;
  cleanStart?: boolean;
  sessionExpiryInterval?: number;
}

/** Options of `createAsyncApiDocument()`. */
export interface AsyncApiDocumentOptions {
  /** `info.title` (default 'MQTT API'). */
  title?: string;
  /** `info.version` of your API (default '1.0.0'). */
  version?: string;
  description?: string;
  /**
   * The brokers, by name. A `ServerMqttAsync` instance works too (its url and options are used). Default: the
   * app's own `ServerMqttAsync` strategies (`connectMicroservice()` or `createMicroservice()`), named `mqtt`,
   * plus the broker of each `ClientMqttAsync` registered in the app (`ClientsModule` or a provider) that none
   * of them describes, named after the client's injection token. Setting `servers` replaces that discovery.
   */
  servers?: Record<string, AsyncApiServerInfo | { readonly options: AsyncApiServerInfo }>;
  /**
   * Topics the app publishes to outside handlers (e.g. from a service through `ClientMqttAsync.emit()`): a
   * client's topics are chosen at its call sites, which the generator cannot see, so they are declared here.
   */
  publishers?: AsyncApiPublisher[];
  /** Titles and descriptions of channels, by address as written in the document (`devices/{id}/cmd`). */
  channels?: Record<string, { title?: string; description?: string }>;
  /** Descriptions of topic parameters (`{deviceId}`), by name. */
  parameters?: Record<string, string>;
  /** Only handlers of this transport (default: `ServerMqttAsync`'s and those without a transport). */
  transportId?: symbol;
}
