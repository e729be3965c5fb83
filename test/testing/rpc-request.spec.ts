import { describe, expect, it } from '@jest/globals';
import type { MqttDriverClient } from '../../lib/driver/index.js';
import { encodeReplyFlags } from '../../lib/nest/serialization/reply.js';
import { MemoryBroker, MqttAsyncRpcError, rpcRequest } from '../../lib/testing/index.js';
import { unhandledRejectionsDuring } from '../support/unhandled-rejections.js';

/**
 * The requester's publish() confirms only after the reply was delivered: RabbitMQ sends a PUBACK after routing
 * the message, so an answer can overtake it. The error reply must reach the caller as a rejection of
 * rpcRequest(), never as an unhandled rejection while publish() is still pending.
 */
function slowPubackClient(client: MqttDriverClient, replied: Promise<void>): MqttDriverClient {
  return new Proxy(client, {
    get(target, key, receiver) {
      if (key !== 'publish') return Reflect.get(target, key, receiver);
      return async (...args: Parameters<MqttDriverClient['publish']>) => {
        const result = await target.publish(...args);
        await replied;
        // Let every queued microtask and an event-loop turn pass, as a network PUBACK would.
        await new Promise((resolve) => setTimeout(resolve, 20));
        return result;
      };
    },
  });
}

describe('rpcRequest() when the reply overtakes the PUBACK', () => {
  it.each(['mqtt5', 'nest'] as const)('rejects with the error reply on the %s wire', async (wire) => {
    const broker = new MemoryBroker(5);
    try {
      const responder = broker.connect({ protocolVersion: 5 });
      const requester = broker.connect({ protocolVersion: 5 });
      let markReplied!: () => void;
      const replied = new Promise<void>((resolve) => {
        markReplied = resolve;
      });
      const requests = await responder.subscribe('math/fail', { qos: 1 });
      void (async () => {
        for await (const m of requests) {
          const error = { code: 'E_MATH', message: 'cannot do that' };
          if (wire === 'mqtt5') {
            await responder.publish(m.properties.responseTopic ?? '', JSON.stringify(error), {
              qos: 1,
              properties: {
                correlationData: m.properties.correlationData,
                userProperties: encodeReplyFlags({ kind: 'error', err: error }),
              },
            });
          } else {
            const { id } = JSON.parse(m.payload.toString()) as { id: string };
            await responder.publish('math/fail/reply', JSON.stringify({ id, err: error, isDisposed: true }), {
              qos: 1,
            });
          }
          markReplied();
        }
      })();
      let err: unknown;
      const unhandled = await unhandledRejectionsDuring(async () => {
        err = await rpcRequest(slowPubackClient(requester, replied), 'math/fail', [1], { wire }).then(
          () => undefined,
          (e: unknown) => e,
        );
      });
      expect(unhandled).toEqual([]);
      expect(err).toBeInstanceOf(MqttAsyncRpcError);
      expect((err as MqttAsyncRpcError).error).toEqual({ code: 'E_MATH', message: 'cannot do that' });
    } finally {
      broker.close();
    }
  });
});
