import type { LoggerService } from '@nestjs/common';
import type { MessageHandler } from '@nestjs/microservices';
import { topicMatches } from '../../driver/index.js';
import { printable } from '../../driver/printable.js';
import type { MqttAsyncContext } from '../context/mqtt-async.context.js';
import type { MqttAsyncServerOptions } from '../options.js';
import { routeMatches } from '../routing/pattern.js';
import type { MqttAsyncRouter } from '../routing/router.js';

/** Minimum milliseconds between two "reply refused" warnings; the ones in between are counted. */
export const REFUSED_REPLY_LOG_INTERVAL = 10_000;

/**
 * Where a `@MessagePattern` may reply (MQTT 5 Response Topic): the requester chooses the topic, so without a
 * policy any publisher makes the service publish its result — with attacker-chosen Correlation Data — wherever it
 * likes (a confused deputy). With `responseTopics`, the topic must match one of those filters (MQTT matching: `#`
 * and `+` never match a `$…` topic). Without it, `$…` topics and topics this service's own handlers listen to (a
 * reply there is a forged request, or a loop) are refused. `allowResponseTopic`, when set, has the last word.
 */
export class ReplyPolicy {
  private lastWarn = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly options: Pick<MqttAsyncServerOptions, 'responseTopics' | 'allowResponseTopic'>,
    private readonly router: () => MqttAsyncRouter<MessageHandler>,
    private readonly logger: LoggerService,
  ) {}

  /**
   * Why `topic` is refused, or undefined when a reply may go there. `ctx` makes the handler's context, only
   * when `allowResponseTopic` needs it (a context per request was most of this check's cost).
   */
  refusal(topic: string, ctx: () => MqttAsyncContext): string | undefined {
    const allowed = this.options.responseTopics;
    if (allowed) {
      if (!allowed.some((f) => topicMatches(f, topic))) return 'it matches none of responseTopics';
    } else if (topic.startsWith('$')) return 'it starts with $';
    else if (this.isHandlerTopic(topic)) return "this service's own handlers listen to it";
    const hook = this.options.allowResponseTopic;
    if (hook && hook(topic, ctx()) !== true) return 'allowResponseTopic() refused it';
    return undefined;
  }

  /** True when the request may get a reply on `topic`; otherwise logs a rate-limited warning. */
  allows(topic: string, requestTopic: string, ctx: () => MqttAsyncContext): boolean {
    const why = this.refusal(topic, ctx);
    if (why === undefined) return true;
    this.warn(topic, requestTopic, why);
    return false;
  }

  private isHandlerTopic(topic: string): boolean {
    return this.router()
      .groups()
      .some((g) => g.entries.some((e) => routeMatches(e.route, topic)));
  }

  private warn(responseTopic: string, requestTopic: string, why: string): void {
    const now = Date.now();
    if (now - this.lastWarn < REFUSED_REPLY_LOG_INTERVAL) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed > 0 ? ` (${this.suppressed} more refused since the last warning)` : '';
    this.lastWarn = now;
    this.suppressed = 0;
    this.logger.warn?.(
      `Request on '${printable(requestTopic)}' got no reply: Response Topic '${printable(responseTopic)}' refused, ${why}${more}. ` +
        'Set responseTopics / allowResponseTopic to allow it; restrict who may publish requests with broker ACLs.',
    );
  }
}
