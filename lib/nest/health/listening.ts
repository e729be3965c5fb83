import type { MqttDriverClient } from '../../driver/index.js';

/** What the health indicator needs of a transport: its driver client, once there is one. */
export interface HealthTarget {
  unwrap<T = MqttDriverClient>(): T;
}

/**
 * Servers that are listening in this process, most recent last: `MqttAsyncHealthIndicator` checks the server
 * when no target is named. A server adds itself after it connected and removes itself when it closes.
 */
export const listeningServers = new Set<HealthTarget>();
