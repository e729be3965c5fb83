import { MqttClient } from './client.js';
import { MqttConnectError } from './errors.js';
import { validateConnectOptions } from './transport/index.js';
import type { MqttClientOptions } from './types.js';

/**
 * Connects to `mqtt://host[:1883]`, `mqtts://host[:8883]`, `ws://host[:80]/path` or `wss://host[:443]/path` and
 * resolves once CONNACK accepted the session.
 * Rejects with `MqttConnectError` (carrying the CONNACK reason code) after `reconnect.maxAttempts` attempts.
 */
export async function connect(url: string, options: MqttClientOptions = {}): Promise<MqttClient> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MqttConnectError(
      `Invalid broker URL ${url.replace(/\/\/[^@/]*@/, '//***@')}: expected mqtt://, mqtts://, ws:// or wss://host:port`,
    );
  }
  validateConnectOptions(parsed, options);
  const client = new MqttClient(parsed, options);
  try {
    await client.connection.start();
  } catch (err) {
    client.shutdown('Connect failed');
    throw err;
  }
  return client;
}
