import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { connect, type MqttClient, type MqttClientOptions, MqttConnectError } from '../../../lib/driver/index.js';
import { ServerMqttAsync } from '../../../lib/nest/index.js';
import { take } from '../../support/messages.js';
import { describeIf, describeMosquitto } from '../../support/mosquitto.js';
import { freePort } from '../../support/ports.js';
import { hasOpenssl, startTlsMosquitto, type TlsMosquitto } from '../../support/tls.js';

const describeTls: typeof describe = hasOpenssl ? describeMosquitto : describeIf(false, 'openssl');

/** Connects expecting failure; fails the test if it connects. Default reconnect stays ON (retries forever). */
async function connectError(url: string, options: MqttClientOptions): Promise<MqttConnectError> {
  const result = await connect(url, options).then(
    async (client) => {
      await client.disconnect();
      return new Error(`connected to ${url} but a failure was expected`);
    },
    (err: unknown) => err,
  );
  expect(result).toBeInstanceOf(MqttConnectError);
  return result as MqttConnectError;
}

function causeCode(err: Error): string | undefined {
  return (err.cause as NodeJS.ErrnoException | undefined)?.code;
}

/** Publishes one QoS 1 message to itself and reads it back. */
async function roundTrip(client: MqttClient, topic: string): Promise<string> {
  const sub = await client.subscribe(topic, { qos: 1 });
  await client.publish(topic, 'over tls', { qos: 1 });
  const [message] = await take(sub, 1);
  await sub.unsubscribe();
  return message?.payload.toString() ?? '';
}

const received: string[] = [];
let onReceived: () => void = () => undefined;

@Controller()
class ReadingsController {
  @EventPattern('plant/readings', { qos: 1 })
  reading(@Payload() data: { value: number }) {
    received.push(JSON.stringify(data));
    onReceived();
  }
}

@Module({ controllers: [ReadingsController] })
class ReadingsModule {}

describeTls('TLS (mqtts://) against mosquitto with run-time certificates', () => {
  let broker: TlsMosquitto;
  const url = (port: number, host = '127.0.0.1') => `mqtts://${host}:${port}`;

  beforeAll(async () => {
    broker = await startTlsMosquitto();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('connects with the right CA, by IP and by host name, and carries messages', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const client = await connect(url(broker.goodPort, host), { tls: { ca: broker.pki.ca } });
      expect(client.status).toBe('connected');
      expect(await roundTrip(client, `tls/${host}`)).toBe('over tls');
      await client.disconnect();
    }
  });

  it('verifies by default: no CA given → certificate error, no endless retry', async () => {
    const err = await connectError(url(broker.goodPort), {});
    expect(causeCode(err)).toMatch(
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN/,
    );
    expect(err.message).toMatch(/not signed by a trusted CA: pass the broker's CA certificate as tls\.ca/);
  });

  it('wrong CA → MqttConnectError with the TLS cause and what to do', async () => {
    const err = await connectError(url(broker.goodPort), { tls: { ca: broker.pki.otherCa } });
    expect(causeCode(err)).toMatch(
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED_CERT_IN_CHAIN/,
    );
    expect(err.message).toMatch(/tls\.ca/);
  });

  it('wrong host name → MqttConnectError (ERR_TLS_CERT_ALTNAME_INVALID) naming the host', async () => {
    const err = await connectError(url(broker.otherHostPort), { tls: { ca: broker.pki.ca } });
    expect(causeCode(err)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(err.message).toMatch(/not valid for host "127\.0\.0\.1".*tls\.servername/);
  });

  it('servername selects the name verified (and sent as SNI): the broker.example certificate is accepted', async () => {
    const client = await connect(url(broker.otherHostPort), {
      tls: { ca: broker.pki.ca, servername: 'broker.example' },
    });
    expect(await roundTrip(client, 'tls/sni')).toBe('over tls');
    await client.disconnect();
  });

  it('expired server certificate → MqttConnectError (CERT_HAS_EXPIRED)', async () => {
    const err = await connectError(url(broker.expiredPort), { tls: { ca: broker.pki.ca } });
    expect(causeCode(err)).toBe('CERT_HAS_EXPIRED');
    expect(err.message).toMatch(/broker's TLS certificate has expired: renew it/);
  });

  it('verification can only be turned off explicitly (rejectUnauthorized: false)', async () => {
    const client = await connect(url(broker.expiredPort), { tls: { rejectUnauthorized: false } });
    expect(client.status).toBe('connected');
    await client.disconnect();
  });

  it('mqtts:// to a plain TCP listener → MqttConnectError that asks whether this is the TLS port', async () => {
    // mosquitto drops the connection on the ClientHello: a reset, which may be transient, so it is retried.
    const err = await connectError(url(broker.broker.port), {
      tls: { ca: broker.pki.ca },
      reconnect: { maxAttempts: 2, initialDelay: 10 },
    });
    expect(err.message).toMatch(/TLS handshake .* was cut off: is this the broker's TLS port/);
  });

  it('mqtts:// to a server that answers in plain text → permanent error: the port does not speak TLS', async () => {
    const open = new Set<net.Socket>();
    const server = net.createServer((s) => {
      open.add(s);
      s.on('error', () => undefined);
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const err = await connectError(url(port), { tls: { ca: broker.pki.ca } });
      expect(causeCode(err)).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
      expect(err.message).toMatch(/does not speak TLS/);
    } finally {
      for (const s of open) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('mutual TLS (require_certificate true)', () => {
    it('connects with a client certificate signed by the CA', async () => {
      const { cert, key } = broker.pki.client;
      const client = await connect(url(broker.mtlsPort), { tls: { ca: broker.pki.ca, cert, key } });
      expect(await roundTrip(client, 'tls/mtls')).toBe('over tls');
      await client.disconnect();
    });

    it('without a client certificate → MqttConnectError asking for tls.cert/tls.key, no endless retry', async () => {
      const err = await connectError(url(broker.mtlsPort), { tls: { ca: broker.pki.ca } });
      expect(causeCode(err)).toMatch(/^ERR_SSL_/);
      expect(err.message).toMatch(/client certificate/);
    });

    it('a client certificate from another CA, or an expired one, is refused', async () => {
      for (const pair of [broker.pki.clientOtherCa, broker.pki.clientExpired]) {
        const err = await connectError(url(broker.mtlsPort), {
          tls: { ca: broker.pki.ca, cert: pair.cert, key: pair.key },
        });
        expect(causeCode(err)).toMatch(/^ERR_SSL_.*ALERT/);
        expect(err.message).toMatch(/broker rejected our client certificate/);
      }
    });

    it('Nest: ServerMqttAsync over mutual TLS receives events; without its certificate listen() fails', async () => {
      const { cert, key } = broker.pki.client;
      const tlsOptions = { ca: broker.pki.ca, cert, key };
      const app = await NestFactory.createMicroservice(ReadingsModule, {
        strategy: new ServerMqttAsync({ url: url(broker.mtlsPort), tls: tlsOptions }),
        logger: false,
      });
      await app.listen();
      const got = new Promise<void>((resolve) => {
        onReceived = resolve;
      });
      const publisher = await connect(url(broker.mtlsPort, 'localhost'), { tls: tlsOptions });
      await publisher.publish('plant/readings', JSON.stringify({ value: 42 }), { qos: 1 });
      await got;
      expect(received).toEqual(['{"value":42}']);
      await publisher.disconnect();
      await app.close();

      const refused = await NestFactory.createMicroservice(ReadingsModule, {
        strategy: new ServerMqttAsync({ url: url(broker.mtlsPort), tls: { ca: broker.pki.ca } }),
        logger: false,
      });
      await expect(refused.listen()).rejects.toThrow(/requires a client certificate/);
      await refused.close();
    });

    it('a key that does not match the certificate is an immediate MqttConnectError', async () => {
      const err = await connectError(url(broker.mtlsPort), {
        tls: { ca: broker.pki.ca, cert: broker.pki.client.cert, key: broker.pki.clientOtherCa.key },
      });
      expect(err.message).toMatch(/TLS options are invalid/);
    });
  });

  describe('SNI and certificate errors on reconnect (TLS front in Node)', () => {
    let front: tls.Server;
    let frontPort: number;
    const names: Array<string | undefined> = [];
    const sockets = new Set<net.Socket>();
    let certificate = () => broker.pki.server;

    beforeAll(async () => {
      frontPort = await freePort();
      front = tls.createServer(
        {
          SNICallback: (name, cb) => {
            names.push(name);
            const pair = name === 'broker.example' ? broker.pki.serverOtherHost : certificate();
            cb(null, tls.createSecureContext({ cert: pair.cert, key: pair.key }));
          },
          // Used when the client sends no SNI (an IP address).
          cert: broker.pki.server.cert,
          key: broker.pki.server.key,
        },
        (socket) => {
          if (!socket.servername) names.push(undefined);
          const upstream = net.connect(broker.broker.port, '127.0.0.1');
          sockets.add(socket);
          for (const s of [socket, upstream]) {
            s.on('error', () => undefined);
            s.on('close', () => {
              socket.destroy();
              upstream.destroy();
              sockets.delete(socket);
            });
          }
          socket.pipe(upstream).pipe(socket);
        },
      );
      await new Promise<void>((resolve) => front.listen(frontPort, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => front?.close(resolve));
    });

    it('sends the URL host name as SNI, none for an IP, and tls.servername when given', async () => {
      names.length = 0;
      const ca = broker.pki.ca;
      for (const [host, servername] of [
        ['localhost', undefined],
        ['127.0.0.1', undefined],
        ['127.0.0.1', 'broker.example'],
      ] as const) {
        const client = await connect(url(frontPort, host), { tls: { ca, ...(servername ? { servername } : {}) } });
        await client.disconnect();
      }
      expect(names).toEqual(['localhost', undefined, 'broker.example']);
    });

    it('a certificate that expired while connected stops the reconnect loop with an error event', async () => {
      certificate = () => broker.pki.server;
      const client = await connect(url(frontPort, 'localhost'), {
        tls: { ca: broker.pki.ca },
        reconnect: { initialDelay: 10, maxDelay: 50 },
      });
      const errors: Error[] = [];
      let attempts = 0;
      client.on('error', (e) => errors.push(e));
      client.on('reconnecting', () => attempts++);
      const closed = new Promise<void>((resolve) => client.on('status', (s) => s === 'closed' && resolve()));
      certificate = () => broker.pki.serverExpired;
      for (const s of sockets) s.destroy();
      await closed;
      const err = errors.find((e) => e instanceof MqttConnectError) as MqttConnectError;
      expect(err).toBeDefined();
      expect(causeCode(err)).toBe('CERT_HAS_EXPIRED');
      // The first reconnect attempt runs without a 'reconnecting' event; the certificate error ends the loop there.
      expect(attempts).toBe(0);
      await expect(client.publish('t', 'x', { qos: 1 })).rejects.toThrow(/closed/);
    });
  });
});
