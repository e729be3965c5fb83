import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { MqttAsyncContext } from '../context/mqtt-async.context.js';

/**
 * Injects a topic parameter (`{id}` / `:id` in the pattern) into a `ServerMqttAsync` handler;
 * without a name, all params as a record.
 */
export const TopicParam = createParamDecorator((name: string | undefined, ctx: ExecutionContext) => {
  const rpcContext = ctx.switchToRpc().getContext();
  if (!(rpcContext instanceof MqttAsyncContext)) return undefined;
  const params = rpcContext.getParams();
  return name === undefined ? params : params[name];
});
