import { MqttProtocolError } from './errors.js';

/** The time source and one-shot timer Keepalive runs on: injected, so it is tested on a fake clock. */
export interface KeepaliveClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Real time. `Date.now` and `setTimeout` are looked up at each call (as before the extraction: a test's fake timers
 * apply); timers are unref'd, so keepalive alone never keeps the process alive.
 */
export const systemClock: KeepaliveClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What Keepalive does to the link. */
export interface KeepaliveLink {
  /** Writes a PINGREQ (nothing when the link is down). */
  ping(): void;
  /** No packet for 1.5 periods: the link is dead (0x8D Keep Alive timeout); it is not checked again. */
  dead(error: MqttProtocolError): void;
}

/**
 * Client-side MQTT Keep Alive (after MQTT.js' KeepaliveManager). A PINGREQ goes out after half the period without
 * sending or receiving; the link is dead exactly 1.5 periods after the last packet RECEIVED (so a dead link is
 * found even while we send), the timer waking at that deadline rather than at its next periodic check.
 * `received()` and `sent()` are reported by the connection for every chunk read and packet written; they are kept
 * across reconnects (the first check after a CONNACK counts from the CONNACK's chunk).
 */
export class Keepalive {
  private timer: unknown;
  private lastReceived = 0;
  private lastSent = 0;

  constructor(
    private readonly link: KeepaliveLink,
    private readonly clock: KeepaliveClock = systemClock,
  ) {}

  received(): void {
    this.lastReceived = this.clock.now();
  }

  sent(): void {
    this.lastSent = this.clock.now();
  }

  /** (Re)starts with a period of `seconds` (0: off). Checks every quarter period (at least every 50 ms). */
  start(seconds: number): void {
    this.stop();
    if (seconds === 0) return;
    const ms = seconds * 1000;
    const tick = Math.max(ms / 4, 50);
    let due = this.clock.now() + tick;
    let resumedAt = 0;
    const check = (): void => {
      const now = this.clock.now();
      // Woken more than a tick late, the process itself was stalled (GC, CPU starvation): that time passed for
      // us, not for the link, and what the broker sent meanwhile is still unread. Count at most one period of
      // silence from here, so a PINGREQ goes out now and the broker has half a period to answer it.
      if (now - due > tick) resumedAt = now;
      const idle = now - Math.max(this.lastReceived, resumedAt - ms);
      if (idle >= ms * 1.5) {
        this.timer = undefined;
        this.link.dead(new MqttProtocolError('No packet from the broker within 1.5× keepalive', 0x8d));
        return;
      }
      if (now - this.lastSent >= ms / 2 || idle >= ms / 2) this.link.ping();
      const next = Math.max(1, Math.min(tick, ms * 1.5 - idle));
      due = now + next;
      this.timer = this.clock.setTimeout(check, next);
    };
    this.timer = this.clock.setTimeout(check, tick);
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
