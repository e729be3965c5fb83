import {
  type Connector,
  connect,
  type MqttDriverClient,
  type MqttMessage,
  type Subscription,
} from '../../../../lib/driver/index.js';

/** Every message the server acknowledged (ack or nack) through `testConnector`, in call order. */
export const serverAcks: MqttMessage[] = [];

function recordingMessage(message: MqttMessage): MqttMessage {
  let recorded = false;
  const record = () => {
    if (!recorded) serverAcks.push(message);
    recorded = true;
  };
  return Object.create(message, {
    ack: {
      value: () => {
        record();
        return message.ack();
      },
    },
    nack: {
      value: (code?: number) => {
        record();
        return message.nack(code);
      },
    },
  }) as MqttMessage;
}

function recordingSubscription(sub: Subscription): Subscription {
  return Object.create(sub, {
    [Symbol.asyncIterator]: {
      value: () => {
        const inner = sub[Symbol.asyncIterator]();
        return {
          next: async () => {
            const r = await inner.next();
            return r.done ? r : { done: false, value: recordingMessage(r.value) };
          },
          return: async () => inner.return?.() ?? { done: true, value: undefined },
        };
      },
    },
  }) as Subscription;
}

/** The real driver, with the acks the application sends recorded in `serverAcks`. */
export const testConnector: Connector = async (url, options) => {
  const client: MqttDriverClient = await connect(url, options);
  const subscribe = client.subscribe.bind(client);
  return Object.assign(client, {
    subscribe: async (...args: Parameters<MqttDriverClient['subscribe']>) =>
      recordingSubscription(await subscribe(...args)),
  });
};
