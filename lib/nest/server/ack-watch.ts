import type { LoggerService } from '@nestjs/common';
import { printable } from '../../driver/printable.js';
import type { MqttAsyncServerOptions } from '../options.js';
import type { ResolvedHandlerOptions } from '../routing/router.js';
import type { AckWatch } from './ack-sequencer.js';

/**
 * Default `ackTimeout` in ms. 30 s: far above the time a handler normally takes to settle a message (so a slow
 * job is not reported), short enough that a forgotten `ctx.ack()` — which holds back every ack behind it — shows
 * up in the logs within half a minute, long before a broker's queue limit or a redelivery storm would.
 */
export const DEFAULT_ACK_TIMEOUT = 30_000;

/**
 * The ack watch of an `ack: 'manual'` subscription: handler option, else the server's default. `'warn'` is the
 * default action because it never loses work: a nack (on MQTT 3.1.1 a plain PUBACK) tells the broker the message
 * is done even though the handler may still finish it. Choose `'nack'` where one stuck message must not hold
 * the others back.
 */
export function ackWatch(
  handler: ResolvedHandlerOptions,
  server: MqttAsyncServerOptions,
  logger: LoggerService,
): AckWatch | undefined {
  if (handler.ack !== 'manual') return undefined;
  const timeout = handler.ackTimeout ?? server.ackTimeout ?? DEFAULT_ACK_TIMEOUT;
  if (timeout <= 0) return undefined;
  const action = handler.onAckTimeout ?? server.onAckTimeout ?? 'warn';
  return {
    timeout,
    action,
    report(message, age, behind) {
      const then =
        action === 'nack'
          ? 'nacked it (onAckTimeout: nack)'
          : "still waiting: settle every message with ctx.ack()/ctx.nack(), or set onAckTimeout: 'nack'";
      logger.warn?.(
        `A message on '${printable(message.topic)}' is not settled after ${age} ms (ackTimeout ${timeout} ms); ` +
          `${behind} ack(s) wait behind it; ${then}`,
      );
    },
  };
}
