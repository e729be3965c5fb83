import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { connect, MqttConnectError } from '../../../lib/driver/index.js';
import { connectErrorFrom, isPermanentTransportError } from '../../../lib/driver/transport/index.js';
import { redactUrl } from '../../../lib/driver/transport/url.js';
import { freePort } from '../../support/ports.js';

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('transport error mapping', () => {
  const url = new URL('mqtts://broker.example:8883');

  it.each([
    ['CERT_HAS_EXPIRED', /broker's TLS certificate has expired/],
    ['SELF_SIGNED_CERT_IN_CHAIN', /pass the broker's CA certificate as tls\.ca/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', /tls\.ca/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', /not valid for host "broker\.example".*tls\.servername/],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', /requires a client certificate: pass tls\.cert and tls\.key/],
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', /rejected our client certificate/],
    ['ERR_SSL_WRONG_VERSION_NUMBER', /does not speak TLS/],
    ['ERR_OSSL_X509_KEY_VALUES_MISMATCH', /TLS options are invalid/],
  ])('%s → permanent MqttConnectError with advice and the cause', (code, advice) => {
    const cause = coded(code);
    const err = connectErrorFrom(cause, url);
    expect(err).toBeInstanceOf(MqttConnectError);
    expect(err.message).toMatch(advice);
    expect(err.message).toContain(code);
    expect(err.cause).toBe(cause);
    expect(err.code).toBe(code);
    expect(isPermanentTransportError(err)).toBe(true);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'])(
    '%s is not permanent: reconnecting continues',
    (code) => {
      const err = connectErrorFrom(coded(code, `connect ${code}`), new URL('mqtt://h:1883'));
      expect(err.message).toMatch(/Cannot reach mqtt:\/\/h:1883/);
      expect(err.message).toMatch(/; (nothing accepts|the host|the connection was reset)/); // what to do
      expect(err.code).toBe(code);
      expect(isPermanentTransportError(err)).toBe(false);
    },
  );

  it('errors from another realm (no instanceof Error) are still recognised', () => {
    const foreign = { message: 'x', code: 'CERT_HAS_EXPIRED' };
    expect(isPermanentTransportError({ message: 'wrapped', cause: foreign })).toBe(true);
    expect(connectErrorFrom(foreign, url).message).toMatch(/expired/);
  });

  it('redactUrl hides user info, including in strings that are not valid URLs', () => {
    expect(redactUrl('mqtts://alice:s3cr3t@broker:8883/x')).toBe('mqtts://***@broker:8883/x');
    expect(redactUrl('ws://token@h/mqtt')).toBe('ws://***@h/mqtt');
    expect(redactUrl('mqtt://alice:p@ss@[bad')).toBe('mqtt://***@[bad');
    expect(redactUrl('mqtt://broker:1883')).toBe('mqtt://broker:1883');
  });
});

describe('connectTimeout covers the transport handshake', () => {
  /** A TCP server that accepts and then says nothing at all. */
  async function silentServer(): Promise<{ port: number; stop: () => Promise<void> }> {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return {
      port,
      stop: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
  }

  it.each(['mqtts', 'ws', 'wss'])('%s:// to a silent server settles with MqttConnectError', async (scheme) => {
    const silent = await silentServer();
    try {
      const err = await connect(`${scheme}://127.0.0.1:${silent.port}/mqtt`, {
        connectTimeout: 200,
        reconnect: false,
        ...(scheme === 'wss' ? { tls: { rejectUnauthorized: true } } : {}),
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MqttConnectError);
      expect((err as Error).message).toMatch(/did not complete within connectTimeout/);
    } finally {
      await silent.stop();
    }
  });
});
