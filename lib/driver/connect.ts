import { MqttClient } from './client.js';
import { MqttConnectError } from './errors.js';
import type { MqttClientOptions } from './types.js';

/**
 * Connects to `mqtt://host[:1883]` or `mqtts://host[:8883]` and resolves once CONNACK accepted the session.
 * Rejects with `MqttConnectError` (carrying the CONNACK reason code) after `reconnect.maxAttempts` attempts.
 */
export async function connect(url: string, options: MqttClientOptions = {}): Promise<MqttClient> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MqttConnectError(`Invalid broker URL ${url}: expected mqtt://host:port or mqtts://host:port`);
  }
  if (!options.transport && parsed.protocol !== 'mqtt:' && parsed.protocol !== 'mqtts:') {
    throw new MqttConnectError(`Unsupported URL scheme ${parsed.protocol}: use mqtt:// or mqtts://`);
  }
  const client = new MqttClient(parsed, options);
  try {
    await client.connection.start();
  } catch (err) {
    client.shutdown('Connect failed');
    throw err;
  }
  return client;
}
