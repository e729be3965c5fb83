import type { MemoryClient } from './memory-client.js';
import type { Delivery, MemoryMessage } from './memory-message.js';

/** The broker's record of QoS 1/2 deliveries that wait for their PUBACK / PUBREC. */
export class DeliveryLog {
  private readonly open = new Map<number, Delivery>();
  private nextId = 1;

  /**
   * Tracks one PUBLISH to a client. Several messages stand for one PUBLISH when the client hands it to several
   * Subscriptions (MQTT 3.1.1): like the driver, it is acknowledged once all of them settled.
   */
  track(client: MemoryClient, messages: MemoryMessage[]): void {
    const first = messages[0];
    if (!first || first.qos === 0) return;
    const delivery: Delivery = {
      id: this.nextId++,
      clientId: client.clientId,
      client,
      message: first,
      state: 'pending',
    };
    this.open.set(delivery.id, delivery);
    let remaining = messages.length;
    for (const m of messages) {
      m.bind((reasonCode) => {
        if (reasonCode !== 0) delivery.reasonCode = reasonCode;
        if (--remaining > 0) return;
        delivery.state = delivery.reasonCode === undefined ? 'acked' : 'nacked';
        delivery.reasonCode ??= 0;
        this.open.delete(delivery.id);
      });
    }
  }

  /** Deliveries not yet acknowledged, oldest first. */
  pending(): Delivery[] {
    return [...this.open.values()];
  }

  /** Forgets the deliveries of a client (gone) or of a client identifier (session discarded); returns them. */
  remove(match: (d: Delivery) => boolean): Delivery[] {
    const gone = [...this.open.values()].filter(match);
    for (const d of gone) this.open.delete(d.id);
    return gone;
  }

  clear(): void {
    this.open.clear();
  }
}

function levelRank(level: string | undefined): number {
  if (level === undefined) return 0;
  if (level === '#') return 3;
  return level === '+' ? 2 : 1;
}

/**
 * The filter whose QoS a 3.1.1 client gets when several of its subscriptions match: mosquitto sends one copy per
 * client, for the first subscription its topic-tree walk meets (per level: literal, then `+`, then `#`).
 */
export function mostSpecificFilter(filters: readonly string[]): string {
  const rank = (a: string, b: string) => {
    const x = a.split('/');
    const y = b.split('/');
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = levelRank(x[i]) - levelRank(y[i]);
      if (d !== 0) return d;
    }
    return 0;
  };
  return filters.reduce((best, f) => (rank(f, best) < 0 ? f : best));
}
