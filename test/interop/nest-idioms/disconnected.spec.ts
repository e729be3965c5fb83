import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  type INestApplication,
  InternalServerErrorException,
  Post,
  RequestTimeoutException,
} from '@nestjs/common';
import { type ClientProxy, ClientProxyFactory, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { catchError, finalize, type Observable, throwError } from 'rxjs';
import { ClientMqttAsync } from '../../../lib/nest/index.js';
import { freePort } from '../../support/ports.js';
import { httpOf } from './modes.js';

/** How a mode builds a client for a URL: what replaces `ClientProxyFactory.create({ transport: MQTT, options })`. */
const clients: Array<{ name: string; create(url: string): ClientProxy }> = [
  { name: 'ClientMqttAsync on MQTT 3.1.1', create: (url) => new ClientMqttAsync({ url, protocolVersion: 4 }) },
  { name: 'ClientMqttAsync on MQTT 5', create: (url) => new ClientMqttAsync({ url, protocolVersion: 5 }) },
  {
    name: 'built-in ClientMqtt (reference)',
    create: (url) => ClientProxyFactory.create({ transport: Transport.MQTT, options: { url } }),
  },
];

/**
 * The MQTT case of Nest's `e2e/disconnected-client.spec.ts`: a client whose broker is down fails `send()` promptly
 * with an error whose `code` is 'ECONNREFUSED', which the controller maps to HTTP 408. (The upstream controller
 * never closes its clients; this one does, so no reconnect timer outlives the test.)
 */
@Controller()
class DisconnectedController {
  static create: (url: string) => ClientProxy;

  @Post()
  call(@Body() body: { url: string }): Observable<number> {
    const client = DisconnectedController.create(body.url);
    return client.send<number, number[]>({ cmd: 'none' }, [1, 2, 3]).pipe(
      catchError((error: { code?: string } | undefined) => {
        const { code } = error ?? { code: 'CONN_ERR' };
        return throwError(() =>
          code === 'ECONNREFUSED' || code === 'CONN_ERR'
            ? new RequestTimeoutException('ECONNREFUSED')
            : new InternalServerErrorException(),
        );
      }),
      finalize(() => void client.close()),
    );
  }
}

describe.each(clients)('Nest disconnected-client idiom (MQTT): $name', (mode) => {
  let app: INestApplication;
  let post: (path: string, body?: unknown) => Promise<{ status: number; body: string }>;

  beforeAll(async () => {
    DisconnectedController.create = mode.create;
    const moduleRef = await Test.createTestingModule({ controllers: [DisconnectedController] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    post = await httpOf(app);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('send() to a broker that refuses connections fails with code ECONNREFUSED (HTTP 408)', async () => {
    const url = `mqtt://127.0.0.1:${await freePort()}`;
    expect((await post('/', { url })).status).toBe(408);
  });
});
