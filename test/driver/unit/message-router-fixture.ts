/**
 * A MessageRouter without a network, for the message-router specs: a fake host records the packets it writes and
 * the errors it reports; the test plays the broker by calling onAck/route/onConnected/onConnectionLost.
 */
import type {
  ConnackProperties,
  ProtocolVersion,
  PublishPacket,
  SubscribePacket,
  UnsubscribePacket,
} from '../../../lib/driver/codec/packets.js';
import { MessageRouter, type MessageRouterHost } from '../../../lib/driver/message-router.js';
import { resolveClientOptions } from '../../../lib/driver/options.js';
import { PacketIds } from '../../../lib/driver/session/packet-ids.js';
import type { ClientStatus, MqttClientOptions, MqttMessage, Subscription } from '../../../lib/driver/types.js';

export class FakeHost implements MessageRouterHost {
  status: ClientStatus = 'connected';
  serverProperties: ConnackProperties | undefined = {};
  readonly sent: (SubscribePacket | UnsubscribePacket)[] = [];
  readonly errors: Error[] = [];
  constructor(readonly protocolVersion: ProtocolVersion = 5) {}
  send(packet: SubscribePacket | UnsubscribePacket): boolean {
    if (this.status !== 'connected') return false;
    this.sent.push(packet);
    return true;
  }
  fail(error: Error): void {
    this.errors.push(error);
  }
  /** The last packet written, of the type asked for. */
  last<T extends 'subscribe' | 'unsubscribe'>(type: T): Extract<SubscribePacket | UnsubscribePacket, { type: T }> {
    const p = this.sent.filter((s) => s.type === type).at(-1);
    if (!p) throw new Error(`no ${type} sent`);
    return p as Extract<SubscribePacket | UnsubscribePacket, { type: T }>;
  }
  /** The packets written, of the type asked for. */
  all<T extends 'subscribe' | 'unsubscribe'>(type: T): Extract<SubscribePacket | UnsubscribePacket, { type: T }>[] {
    return this.sent.filter((s) => s.type === type) as Extract<SubscribePacket | UnsubscribePacket, { type: T }>[];
  }
}

export const publish = (topic: string, qos: 0 | 1 | 2 = 0, ids?: number[]): PublishPacket => ({
  type: 'publish',
  topic,
  qos,
  retain: false,
  dup: false,
  packetId: qos > 0 ? 7 : undefined,
  payload: Buffer.from(topic),
  properties: ids ? { subscriptionIdentifier: ids } : undefined,
});

/**
 * A settle tracker: `track(holders)` as the client's InboundAcks would register it. `settled` gets the code once
 * every holder settled; `calls` counts every settle call and `holders` every registration's holder count.
 */
export function tracker() {
  const settled: number[] = [];
  const holders: number[] = [];
  let calls = 0;
  const track = (n: number) => {
    holders.push(n);
    let left = n;
    return (code: number) => {
      calls++;
      if (--left === 0) settled.push(code);
    };
  };
  return {
    settled,
    holders,
    track,
    get calls() {
      return calls;
    },
  };
}

/** The client's own tracker: QoS 0 has no acknowledgement, so `track` gives no settle function for it. */
export const trackLikeClient =
  (qos: 0 | 1 | 2, t = tracker()) =>
  (holders: number) =>
    qos === 0 ? undefined : t.track(holders);

export function setup(version: ProtocolVersion = 5, options: MqttClientOptions = {}) {
  const host = new FakeHost(version);
  const ids = new PacketIds();
  return { host, ids, router: new MessageRouter(host, ids, resolveClientOptions(options)) };
}

/** Subscribes and answers the SUBACK(s) with `codes` (one per filter, in packet order); the Subscription. */
export async function subscribed(
  s: ReturnType<typeof setup>,
  filters: string[],
  options: Parameters<MessageRouter['subscribe']>[1] = {},
): Promise<Subscription> {
  const before = s.host.sent.length;
  const pending = s.router.subscribe(filters, options);
  for (const p of s.host.sent.slice(before)) {
    if (p.type === 'subscribe')
      s.router.onAck({ type: 'suback', packetId: p.packetId, reasonCodes: p.subscriptions.map((x) => x.qos) });
  }
  return pending;
}

/** Reads the next message (one that is already queued: the router is synchronous). */
export async function read(sub: Subscription): Promise<MqttMessage | undefined> {
  return (await sub[Symbol.asyncIterator]().next()).value;
}

/** Every promise callback queued so far has run (the router's own promise chains are microtasks only). */
export const settled = () => new Promise<void>((resolve) => setImmediate(resolve));
