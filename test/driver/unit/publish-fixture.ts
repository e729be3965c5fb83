import type { PublishPacket } from '../../../lib/driver/codec/packets.js';

/** An empty outgoing QoS 1/2 PUBLISH for the session unit specs (session.spec.ts, outbound.spec.ts). */
export const pub = (topic: string, qos: 1 | 2 = 1): PublishPacket => ({
  type: 'publish',
  topic,
  qos,
  retain: false,
  dup: false,
  payload: Buffer.alloc(0),
});
