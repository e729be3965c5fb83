import { MqttDisconnectedError, MqttTimeoutError } from './errors.js';
import type { PingOptions } from './types.js';

/** Default bound of `client.ping()` in ms. */
export const DEFAULT_PING_TIMEOUT = 5_000;

interface Waiter {
  readonly started: number;
  readonly resolve: (ms: number) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * `client.ping()`: PINGREQ → PINGRESP round trips asked for by the application. PINGRESP carries no identifier,
 * so a PINGRESP answers every ping waiting when it arrives (the broker answers PINGREQs in order; one sent by
 * keepalive just before ours can only make a measured round trip shorter, never hang it).
 */
export class Pings {
  private readonly waiting = new Set<Waiter>();

  /**
   * @param sendPingreq writes a PINGREQ; returns false when the link is down (nothing was written).
   */
  constructor(private readonly sendPingreq: () => boolean) {}

  ping(options: PingOptions = {}): Promise<number> {
    const timeout = options.timeout ?? DEFAULT_PING_TIMEOUT;
    return new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const waiter: Waiter = {
        started,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiting.delete(waiter);
          reject(
            new MqttTimeoutError(
              `No PINGRESP within ${timeout} ms: the broker or the link is too slow or stuck (raise timeout or check the broker)`,
            ),
          );
        }, timeout),
      };
      this.waiting.add(waiter);
      if (!this.sendPingreq()) {
        this.settle(waiter);
        reject(new MqttDisconnectedError('Not connected: ping needs a live link to the broker; retry when connected'));
      }
    });
  }

  /** A PINGRESP arrived. */
  onPingresp(): void {
    const now = performance.now();
    for (const w of [...this.waiting]) {
      this.settle(w);
      w.resolve(now - w.started);
    }
  }

  /** The link went down (or the client closed): pings waiting will get no answer. */
  rejectAll(reason: string): void {
    for (const w of [...this.waiting]) {
      this.settle(w);
      w.reject(new MqttDisconnectedError(`${reason}: ping not answered; retry when connected`));
    }
  }

  private settle(w: Waiter): void {
    clearTimeout(w.timer);
    this.waiting.delete(w);
  }
}
