import type { HandlerAckMode } from '../options.js';
import type { AckTicket } from './ack-sequencer.js';
import type { MessageSlot } from './retry.js';

/** What happened to one message on its way through the handlers; decides how the transport settles it. */
export interface DispatchOutcome {
  errors: unknown[];
  /** A handler pipeline (guards, interceptors, pipes, the handler, filters) was called for it. */
  invoked: boolean;
  /** Its payload could not be decoded (no handler was called). */
  undecodable: boolean;
  /** `close()` ended a retry delay: left unacknowledged, for the broker to redeliver. */
  abandoned?: boolean;
  /** The concurrency slot the message holds (given back during retry delays). */
  slot: MessageSlot | undefined;
}

/** MQTT 5 PUBACK/PUBREC reason code "Payload format invalid". */
const PAYLOAD_FORMAT_INVALID = 0x99;
/** MQTT 5 PUBACK/PUBREC reason code "Unspecified error". */
const UNSPECIFIED_ERROR = 0x80;

/**
 * Settles a message once its handlers are done, so that one message never holds back the acks behind it (acks
 * leave in receive order). `auto` was acknowledged on receipt. `after`: ack, or nack when something failed.
 * `manual`: the handler's own `ctx.ack()` / `ctx.nack()` wins; the transport settles what the handler never
 * settled because it never received it (undecodable → 0x99, no handler → ack) or because it failed
 * (guard, pipe, interceptor, filter or handler error → 0x80). A manual handler that returns without settling
 * keeps the message (an ack that comes later is allowed); `ackTimeout` watches it. 3.1.1 has no reason codes:
 * a nack is a plain PUBACK there, which the broker treats as delivered.
 */
export function settleAfterHandlers(mode: HandlerAckMode, ticket: AckTicket, outcome: DispatchOutcome): void {
  if (mode === 'auto' || ticket.settled || outcome.abandoned) return;
  const failed = outcome.errors.length > 0;
  if (mode === 'manual' && outcome.invoked && !failed) return;
  if (!failed) void ticket.ack();
  else void ticket.nack(outcome.undecodable ? PAYLOAD_FORMAT_INVALID : UNSPECIFIED_ERROR);
}

/**
 * The message's handlers are done: settles it, frees its concurrency slot, and resolves with its first error once
 * its ack (if settled) was handed to the driver.
 */
export function handlersDone(mode: HandlerAckMode, ticket: AckTicket, outcome: DispatchOutcome): Promise<unknown> {
  settleAfterHandlers(mode, ticket, outcome);
  // The slot is free while the ack waits its turn (acks leave in receive order). Held until the ack left,
  // messages behind a retrying one would take every slot and its retry could never run.
  outcome.slot?.release();
  const first = outcome.errors[0];
  return ticket.settled ? ticket.sent.then(() => first) : Promise.resolve(first);
}
