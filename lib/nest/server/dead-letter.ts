import type { MessageHandler } from '@nestjs/microservices';
import { validateTopicName } from '../../driver/index.js';
import { MqttAsyncError } from '../errors.js';
import { routeMatches } from '../routing/pattern.js';
import type { MqttAsyncRouter } from '../routing/router.js';

/** `listen()` refused a configuration; the message says what to change. */
export class MqttAsyncConfigError extends MqttAsyncError {}

/**
 * Refuses a `deadLetterTopic` that one of the server's own handlers listens to: a message its handler keeps
 * failing on would be dead-lettered back into that handler, fail again, and loop forever (1,475 messages in 3 s).
 * @throws MqttAsyncConfigError
 */
export function checkDeadLetterTopic(topic: string | undefined, router: MqttAsyncRouter<MessageHandler>): void {
  if (topic === undefined) return;
  try {
    validateTopicName(topic);
  } catch (err) {
    throw new MqttAsyncConfigError(`deadLetterTopic '${topic}' is not a topic name: ${(err as Error).message}`);
  }
  for (const group of router.groups()) {
    const entry = group.entries.find((e) => routeMatches(e.route, topic));
    if (entry) {
      throw new MqttAsyncConfigError(
        `deadLetterTopic '${topic}' matches the handler pattern '${entry.route.pattern}': a failing message would ` +
          'loop back into it; dead-letter to a topic no handler of this service subscribes to',
      );
    }
  }
}
