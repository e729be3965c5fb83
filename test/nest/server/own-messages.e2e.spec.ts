import { afterAll, beforeAll, beforeEach, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import type { MqttClient } from 'mqtt';
import { firstValueFrom, of, toArray } from 'rxjs';
import { ClientMqttAsync, MqttAsyncContext, type ServerMqttAsync } from '../../../lib/nest/index.js';
import { describeMosquitto, type MosquittoHandle, startMosquitto } from '../../support/mosquitto.js';
import { outsideClient, rpc, type StartedApp, startApp } from './helpers.js';

/** What the handlers saw, as `topic payload`. */
const seen = {
  quiet: [] as string[],
  loud: [] as string[],
  replies: [] as string[],
  clientReplies: [] as string[],
  reset() {
    this.quiet.length = 0;
    this.loud.length = 0;
    this.replies.length = 0;
    this.clientReplies.length = 0;
  },
};
const text = (ctx: MqttAsyncContext) => `${ctx.getTopic()} ${ctx.getMessage().payload.toString()}`;
const self: { server?: ServerMqttAsync } = {};

@Controller()
class LoopController {
  /** Publishes on the server's own connection to topics this server subscribes. */
  @EventPattern('loop/trigger')
  async trigger(@Payload() _data: unknown) {
    const client = self.server!.unwrap();
    await client.publish('loop/quiet/1', 'own', { qos: 1 });
    await client.publish('loop/loud/1', 'own', { qos: 1 });
  }

  @EventPattern('loop/quiet/{n}', { noLocal: true })
  quiet(@Ctx() ctx: MqttAsyncContext) {
    seen.quiet.push(text(ctx));
  }

  @EventPattern('loop/loud/{n}')
  loud(@Ctx() ctx: MqttAsyncContext) {
    seen.loud.push(text(ctx));
  }

  @MessagePattern('ask/echo')
  echo(@Payload() data: unknown) {
    return { echo: data };
  }

  @MessagePattern('ask/stream')
  stream() {
    return of(1, 2, 3);
  }

  /** Matches the Response Topics of plain MQTT 5 requesters (`replies/<uuid>`). */
  @EventPattern('replies/#')
  watchReplies(@Ctx() ctx: MqttAsyncContext) {
    seen.replies.push(text(ctx));
  }

  /** Matches ClientMqttAsync's private reply topics. */
  @EventPattern('nest-mqtt-async/replies/#')
  watchClientReplies(@Ctx() ctx: MqttAsyncContext) {
    seen.clientReplies.push(text(ctx));
  }
}

describeMosquitto('ServerMqttAsync and its own messages (mosquitto, MQTT 5)', () => {
  let broker: MosquittoHandle;
  let started: StartedApp;
  let outside: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto();
    // The watchers below listen on the reply topics, which the reply policy refuses by default (issue 19): this
    // service allows them explicitly.
    started = await startApp([LoopController], {
      url: broker.url,
      protocolVersion: 5,
      responseTopics: ['replies/+', 'nest-mqtt-async/replies/+'],
    });
    self.server = started.server;
    outside = await outsideClient(broker.url);
  });

  afterAll(async () => {
    await outside?.endAsync();
    await started?.app.close();
    await broker?.stop();
  });

  beforeEach(() => seen.reset());

  it('noLocal: the server does not get back what it published itself; without noLocal it does', async () => {
    const before = started.handled.length;
    await outside.publishAsync('loop/trigger', '', { qos: 1 });
    // the trigger handler has its two publishes acknowledged by the broker before it settles
    await started.handledOn('loop/trigger', before);
    // then a foreign message on each topic: on one connection the broker delivers in order, so an own message that
    // came back would be handled before these
    await outside.publishAsync('loop/quiet/2', 'foreign', { qos: 1 });
    await outside.publishAsync('loop/loud/2', 'foreign', { qos: 1 });
    await started.handledOn('loop/quiet/2', before);
    await started.handledOn('loop/loud/2', before);
    expect(seen.quiet).toEqual(['loop/quiet/2 foreign']);
    expect(seen.loud).toEqual(['loop/loud/1 own', 'loop/loud/2 foreign']);
    // the broker itself withheld the own message (it never reached the server), rather than a handler filtering it
    expect(started.handled.slice(before).map((h) => h.topic)).not.toContain('loop/quiet/1');
  });

  it('never routes its own RPC replies into a handler whose wildcard matches the Response Topic', async () => {
    const before = started.handled.length;
    const single = await rpc(outside, 'ask/echo', '{"a":1}');
    expect(single.map((r) => JSON.parse(r.payload))).toEqual([{ echo: { a: 1 } }]);
    const streamed = await rpc(outside, 'ask/stream', '');
    expect(streamed.map((r) => JSON.parse(r.payload))).toEqual([1, 2, 3]);
    // a foreign message on a reply topic is an ordinary event: seen, after any own reply would have been
    await outside.publishAsync('replies/foreign', 'foreign', { qos: 1 });
    await started.handledOn('replies/foreign', before);
    expect(seen.replies).toEqual(['replies/foreign foreign']);
    // the own replies did come back on the replies/# subscription (four of them); they were just not routed
    const ownReplies = started.handled.slice(before).filter((h) => /^replies\/[0-9a-f-]{36}$/.test(h.topic));
    expect(ownReplies).toHaveLength(4);
    expect(ownReplies.every((h) => h.error === undefined)).toBe(true);
  });

  it("never routes its replies to ClientMqttAsync's reply topic into a handler, foreign messages there are seen", async () => {
    const client = new ClientMqttAsync({ url: broker.url, protocolVersion: 5 });
    try {
      const before = started.handled.length;
      expect(await firstValueFrom(client.send('ask/echo', { b: 2 }))).toEqual({ echo: { b: 2 } });
      expect(await firstValueFrom(client.send('ask/stream', {}).pipe(toArray()))).toEqual([1, 2, 3]);
      await outside.publishAsync('nest-mqtt-async/replies/probe', 'foreign', { qos: 1 });
      await started.handledOn('nest-mqtt-async/replies/probe', before);
      expect(seen.clientReplies).toEqual(['nest-mqtt-async/replies/probe foreign']);
      const ownReplies = started.handled
        .slice(before)
        .filter((h) => h.topic.startsWith('nest-mqtt-async/replies/') && h.topic !== 'nest-mqtt-async/replies/probe');
      expect(ownReplies).toHaveLength(4);
    } finally {
      await client.close();
    }
  });
});
