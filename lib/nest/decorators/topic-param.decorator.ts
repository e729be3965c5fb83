import { createParamDecorator, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';
import { MqttAsyncContext } from '../context/mqtt-async.context.js';

/**
 * Injects a topic parameter (`{id}` / `:id` in the pattern) into a `ServerMqttAsync` handler;
 * without a name, all params as a record. Pipes may follow the name, as with `@Payload()`.
 *
 * The type is spelled out so that the emitted `.d.ts` names only types Nest 11 and 12 both have (inferred, it
 * mentioned Nest 12's `ParameterDecoratorOptions`).
 */
export const TopicParam: (name?: string, ...pipes: Array<PipeTransform | Type<PipeTransform>>) => ParameterDecorator =
  createParamDecorator((name: string | undefined, ctx: ExecutionContext) => {
    const rpcContext = ctx.switchToRpc().getContext();
    if (!(rpcContext instanceof MqttAsyncContext)) return undefined;
    const params = rpcContext.getParams();
    return name === undefined ? params : params[name];
  });
