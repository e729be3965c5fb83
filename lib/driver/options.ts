import { DEFAULT_MAX_USER_PROPERTIES } from './message.js';
import type { MqttClientOptions } from './types.js';

/**
 * Every default of the driver client's options, in one place (documented on `MqttClientOptions`). The last two
 * are used for local checks only: `resolveClientOptions` leaves them unset, because an option left out of CONNECT
 * means the spec's default to the broker, and setting it would put it on the wire.
 */
export const CLIENT_DEFAULTS = {
  protocolVersion: 5,
  keepalive: 60,
  connectTimeout: 30_000,
  unroutedBufferSize: 1000,
  maxUserProperties: DEFAULT_MAX_USER_PROPERTIES,
  maxPendingRequests: 10_000,
  receiveMaximumTolerance: 65535,
  cleanStart: true,
  /** Not filled in: absent from CONNECT (the spec's default, 65535). */
  receiveMaximum: 65535,
  /** Not filled in: absent from CONNECT (no topic aliases from the server). */
  topicAliasMaximum: 0,
} as const;

/** The options a client runs on: its own, with the defaults that do not change the CONNECT packet filled in. */
export type ResolvedClientOptions = MqttClientOptions &
  Required<
    Pick<
      MqttClientOptions,
      | 'protocolVersion'
      | 'keepalive'
      | 'connectTimeout'
      | 'unroutedBufferSize'
      | 'maxUserProperties'
      | 'maxPendingRequests'
      | 'receiveMaximumTolerance'
      | 'cleanStart'
    >
  >;

/** `options` with every default of {@link CLIENT_DEFAULTS} that is filled in; a new object, `options` untouched. */
export function resolveClientOptions(options: MqttClientOptions): ResolvedClientOptions {
  const d = CLIENT_DEFAULTS;
  return {
    ...options,
    protocolVersion: options.protocolVersion ?? d.protocolVersion,
    keepalive: options.keepalive ?? d.keepalive,
    connectTimeout: options.connectTimeout ?? d.connectTimeout,
    unroutedBufferSize: options.unroutedBufferSize ?? d.unroutedBufferSize,
    maxUserProperties: options.maxUserProperties ?? d.maxUserProperties,
    maxPendingRequests: options.maxPendingRequests ?? d.maxPendingRequests,
    receiveMaximumTolerance: options.receiveMaximumTolerance ?? d.receiveMaximumTolerance,
    cleanStart: options.cleanStart ?? d.cleanStart,
  };
}
