import type { MqttDriverClient, MqttMessage } from '../../driver/index.js';
import type { MqttAsyncRouter, SubscriptionGroup } from '../routing/router.js';
import type { Telemetry } from './telemetry.js';

/**
 * The server's one tracing hook: runs `dispatch` inside the message's CONSUMER span. The span is named after the
 * handler pattern (`devices/{id}/cmd`, low-cardinality), the RPC handler's when there is one.
 */
export function dispatchTraced<H, T>(
  telemetry: Telemetry,
  router: MqttAsyncRouter<H>,
  client: MqttDriverClient,
  group: SubscriptionGroup<H>,
  message: MqttMessage,
  dispatch: () => Promise<T>,
): Promise<T> {
  const rpc = router.rpcRoute(message.topic);
  const entry = rpc && rpc.group === group ? rpc : router.eventRoutes(group, message.topic)[0];
  const template = entry?.route.pattern ?? message.topic;
  return telemetry.consume(client, message, template, group.options.shared, dispatch);
}
