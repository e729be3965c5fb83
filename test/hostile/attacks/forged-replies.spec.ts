/**
 * Attack 4 (issue 19): forged replies to `ClientMqttAsync`. Its request ids were a per-client random prefix plus a
 * counter, on a fixed reply topic: after seeing one request, an attacker spraying replies for the next ids resolved
 * 10 of 10 of the victim's next `send()` calls with forged data. Ids are now 16 unpredictable bytes per request, on
 * MQTT 5 (Correlation Data) and in the Nest wire format (`id`).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import type { MqttDriverClient, MqttMessage } from '../../../lib/driver/index.js';
import { MqttAsyncTestBroker } from '../../../lib/testing/index.js';
import { take } from '../../support/messages.js';

let broker: MqttAsyncTestBroker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** Ids an attacker derives from one observed id: the same prefix with the next 50 counter values, and variants. */
function guesses(observed: string): string[] {
  const out: string[] = [];
  const dot = observed.lastIndexOf('.');
  const prefix = dot >= 0 ? observed.slice(0, dot + 1) : observed.slice(0, -1);
  for (let n = 0; n < 50; n++) out.push(prefix + n.toString(36));
  return out;
}

/** The id of a request as the wire carries it. */
function idOf(m: MqttMessage, nestWire: boolean): string {
  return nestWire ? (JSON.parse(m.payload.toString()) as { id: string }).id : String(m.properties.correlationData);
}

for (const nestWire of [false, true]) {
  describe(`attack: blind reply forgery (${nestWire ? 'Nest wire format' : 'MQTT 5 Correlation Data'})`, () => {
    it('an attacker who saw one request resolves none of the next 10 send() calls', async () => {
      broker = new MqttAsyncTestBroker({ protocolVersion: 5 });
      const victim = broker.createClient({ nestWireFormat: nestWire, requestTimeout: 10_000 });
      const attacker: MqttDriverClient = await broker.connect();
      const seen = await attacker.subscribe('svc/op', { qos: 1 });

      // The attacker watches one request and answers it honestly, learning the reply topic and the id's shape.
      const first = firstValueFrom(victim.send('svc/op', { n: 0 }));
      const [observed] = await take(seen, 1);
      const replyTopic = nestWire ? 'svc/op/reply' : (observed!.properties.responseTopic as string);
      const reply = (id: string, body: object) =>
        nestWire
          ? attacker.publish(replyTopic, JSON.stringify({ id, ...body, isDisposed: true }), { qos: 1 })
          : attacker.publish(replyTopic, JSON.stringify(body), {
              qos: 1,
              properties: {
                correlationData: Buffer.from(id),
                contentType: 'application/json',
                userProperties: [
                  ['nest-mqtt-async:reply', '1'],
                  ['nest-mqtt-async:final', '1'],
                ],
              },
            });
      const firstId = idOf(observed!, nestWire);
      await reply(firstId, nestWire ? { response: 'honest' } : {});
      await first;

      // The victim's next 10 requests; the attacker (not reading them any more) sprays guessed ids at its reply topic.
      const results = Array.from({ length: 10 }, (_, n) => firstValueFrom(victim.send('svc/op', { n: n + 1 })));
      const requests = await take(seen, 10);
      for (const id of guesses(firstId)) await reply(id, nestWire ? { response: 'forged' } : { forged: true });
      // Then the real answers, after every forged one on the same topic (the broker keeps their order).
      for (const r of requests) await reply(idOf(r, nestWire), nestWire ? { response: 'real' } : { real: true });
      const answers = await Promise.all(results);
      const forged = answers.filter((a) => JSON.stringify(a).includes('forged'));
      expect(forged).toHaveLength(0);
      expect(requests.map((r) => Buffer.byteLength(idOf(r, nestWire), 'base64url'))).toEqual(Array(10).fill(16));
      await victim.close();
      await attacker.disconnect();
    });
  });
}
