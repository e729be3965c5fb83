import type { AuthPacket, ConnackPacket, ConnectProperties } from './codec/packets.js';
import { MqttConnectError, MqttDisconnectedError, MqttError, MqttProtocolError } from './errors.js';
import type { EnhancedAuthOptions } from './types.js';

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

const REAUTHENTICATE = 0x19;

/**
 * Client-initiated re-authentication on a live MQTT 5 connection (AUTH 0x19, section 4.12.1): sends the method
 * and fresh `auth.data`, answers each AUTH 0x18 with `auth.onAuth`, and settles on AUTH 0x00 (after
 * `auth.onSuccess`). A failed re-authentication is ended by the broker with DISCONNECT; the pending promise
 * then rejects. An AUTH from the broker outside a re-authentication is a protocol error (0x82).
 */
export class Reauthentication {
  private pending: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(
    private readonly auth: () => EnhancedAuthOptions | undefined,
    private readonly send: (packet: AuthPacket) => boolean,
  ) {}

  /** Starts a re-authentication; resolves when the broker accepted it. */
  async start(): Promise<void> {
    const auth = this.auth();
    if (!auth) throw new MqttError('reauthenticate() needs options.auth (MQTT 5 enhanced authentication)');
    if (this.pending) throw new MqttError('A re-authentication is already in progress: await it first');
    const done = new Promise<void>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    const mine = this.pending;
    // The link can drop while auth.data() runs (a token fetched over the network): `done` then rejects before it
    // is returned. Observed from here, that is not an unhandled rejection (which ends the process under Node's
    // default); the caller still gets it.
    done.catch(() => undefined);
    try {
      const properties = await authConnectProperties(auth);
      // Settled meanwhile (the link dropped): nobody waits for this exchange any more, and the link may be a new
      // one, where an AUTH 0x19 would start an exchange whose answer is a protocol error to us.
      if (this.pending !== mine) return done;
      if (!this.send({ type: 'auth', reasonCode: REAUTHENTICATE, properties })) {
        this.settle(new MqttDisconnectedError('Not connected: re-authenticate after the client reconnected'));
      }
    } catch (err) {
      this.settle(new MqttError(`Re-authentication (${auth.method}) failed: auth.data threw`, { cause: err }));
    }
    return done;
  }

  /** Handles an AUTH packet received after CONNACK. Throws MqttProtocolError for one nobody asked for. */
  onPacket(packet: AuthPacket): void {
    const auth = this.auth();
    if (!this.pending || !auth) throw new MqttProtocolError('Unexpected AUTH from the broker', 0x82);
    if ((packet.reasonCode ?? 0) === 0) {
      if (packet.properties?.authenticationMethod !== auth.method) {
        const err = new MqttProtocolError('AUTH success names another authentication method', 0x82);
        this.settle(err);
        throw err;
      }
      try {
        auth.onSuccess?.(packet.properties?.authenticationData);
        this.settle();
      } catch (err) {
        this.settle(
          new MqttError(`Re-authentication (${auth.method}) rejected the broker in onSuccess`, { cause: err }),
        );
      }
      return;
    }
    if (packet.reasonCode !== CONTINUE_AUTHENTICATION || packet.properties?.authenticationMethod !== auth.method) {
      const err = new MqttProtocolError(`Unexpected AUTH (reason code ${packet.reasonCode}) from the broker`, 0x82);
      this.settle(err);
      throw err;
    }
    answerAuth(auth, packet).then(
      (reply) => {
        if (!this.send(reply)) this.settle(new MqttDisconnectedError('Connection lost during re-authentication'));
      },
      (err: Error) => this.settle(err),
    );
  }

  /**
   * The connection closed: a pending re-authentication failed. The broker ends a refused one with DISCONNECT,
   * whose reason code (0x87, 0x8C, ...) the rejection carries.
   */
  abort(event: { reasonCode?: number; error?: Error } = {}): void {
    if (!this.pending) return;
    const code = event.reasonCode;
    const by = code === undefined ? '' : ` by the broker (reason code 0x${code.toString(16).padStart(2, '0')})`;
    this.settle(
      new MqttDisconnectedError(`Connection closed${by}: re-authentication did not complete`, {
        reasonCode: code,
        cause: event.error,
      }),
    );
  }

  private settle(err?: Error): void {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    if (err) p.reject(err);
    else p.resolve();
  }
}
