import type { AuthPacket, ConnackPacket, ConnectProperties } from '../codec/packets.js';
import { MqttConnectError, MqttProtocolError } from '../errors.js';
import type { EnhancedAuthOptions } from '../types.js';

const CONTINUE_AUTHENTICATION = 0x18;

function toBuffer(data: Uint8Array | undefined): Buffer | undefined {
  return data === undefined ? undefined : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** CONNECT properties that start an MQTT 5 enhanced authentication (method and initial data). */
export async function authConnectProperties(
  auth: EnhancedAuthOptions | undefined,
): Promise<Pick<ConnectProperties, 'authenticationMethod' | 'authenticationData'>> {
  if (!auth) return {};
  const data = typeof auth.data === 'function' ? await auth.data() : auth.data;
  const authenticationData = toBuffer(data);
  return authenticationData
    ? { authenticationMethod: auth.method, authenticationData }
    : { authenticationMethod: auth.method };
}

/**
 * Answers an AUTH packet the broker sent before CONNACK: runs `auth.onAuth` and returns our AUTH (0x18).
 * An AUTH we did not ask for, or for another method, is a protocol error (0x82).
 */
export async function answerAuth(auth: EnhancedAuthOptions | undefined, packet: AuthPacket): Promise<AuthPacket> {
  if (!auth) throw new MqttProtocolError('The broker sent AUTH but no enhanced authentication was requested', 0x82);
  const reasonCode = packet.reasonCode ?? 0;
  const method = packet.properties?.authenticationMethod;
  if (reasonCode !== CONTINUE_AUTHENTICATION || method !== auth.method) {
    throw new MqttProtocolError(
      `Unexpected AUTH from the broker (reason code ${reasonCode}, method ${JSON.stringify(method)})`,
      0x82,
    );
  }
  let data: Uint8Array | undefined;
  try {
    data = await auth.onAuth(packet.properties?.authenticationData, reasonCode);
  } catch (err) {
    throw new MqttConnectError(`Enhanced authentication (${auth.method}) failed in onAuth`, { cause: err });
  }
  const authenticationData = toBuffer(data);
  return {
    type: 'auth',
    reasonCode: CONTINUE_AUTHENTICATION,
    properties: authenticationData
      ? { authenticationMethod: auth.method, authenticationData }
      : { authenticationMethod: auth.method },
  };
}

/** Lets `auth.onSuccess` check the CONNACK of a successful enhanced authentication; throws MqttConnectError. */
export function checkAuthSuccess(auth: EnhancedAuthOptions | undefined, connack: ConnackPacket): void {
  if (!auth?.onSuccess) return;
  try {
    auth.onSuccess(connack.properties?.authenticationData);
  } catch (err) {
    throw new MqttConnectError(`Enhanced authentication (${auth.method}) rejected the broker in onSuccess`, {
      cause: err,
    });
  }
}
