import { NetworkClient } from './client.js';
import { MqttConnectError } from './errors.js';
import { redactUrl, takeUrlCredentials, validateConnectOptions } from './transport/index.js';
import type { MqttClient, MqttClientOptions } from './types.js';

/**
 * Connects to `mqtt://host[:1883]`, `mqtts://host[:8883]`, `ws://host[:80]/path` or `wss://host[:443]/path` and
 * resolves once CONNACK accepted the session.
 * Rejects with `MqttConnectError` (carrying the CONNACK reason code, or the socket error's `code`) after
 * `reconnect.connectAttempts` (default `reconnect.maxAttempts`) attempts, or at once when `disconnect()` is called.
 * User info in the URL (`mqtt://user:password@host`) is used as username/password unless the options set them.
 */
export async function connect(url: string, options: MqttClientOptions = {}): Promise<MqttClient> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MqttConnectError(
      `Invalid broker URL ${redactUrl(url)}: expected mqtt://, mqtts://, ws:// or wss://host:port`,
    );
  }
  validateConnectOptions(parsed, options);
  const client = new NetworkClient(parsed, hideCredentials(parsed, options));
  try {
    options.beforeConnect?.(client);
    await client.connection.start();
  } catch (err) {
    client.shutdown('Connect failed');
    throw err;
  }
  return client;
}

/**
 * `mqtt://user:password@host`: the URL's credentials apply unless the options give their own. The password is
 * moved out of the URL and the options into a `credentials` closure, so neither `client.url` nor
 * `client.options` shows it when logged or inspected.
 */
function hideCredentials(url: URL, options: MqttClientOptions): MqttClientOptions {
  const fromUrl = takeUrlCredentials(url);
  const { username = fromUrl.username, password = fromUrl.password, ...rest } = options;
  if (rest.credentials || (username === undefined && password === undefined)) return rest;
  return { ...rest, credentials: async () => ({ username, password }) };
}
