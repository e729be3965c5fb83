import { randomBytes } from 'node:crypto';

/** Random bytes per request id: 128 bits, so an attacker who saw other requests still cannot guess the next one. */
export const REQUEST_ID_BYTES = 16;
const POOL_BYTES = REQUEST_ID_BYTES * 256;

/**
 * Request ids of `ClientMqttAsync` (MQTT 5 Correlation Data, Nest wire `id`): 16 unpredictable bytes each, as
 * base64url. A counter behind a per-client prefix let anyone who saw one request forge the replies to the next
 * ones. Cut from a pool of random bytes: one `randomBytes()` call per 256 ids, like the driver's `request()`.
 */
export class RequestIds {
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): string {
    if (this.offset + REQUEST_ID_BYTES > this.pool.length) {
      this.pool = randomBytes(POOL_BYTES);
      this.offset = 0;
    }
    const id = this.pool.toString('base64url', this.offset, this.offset + REQUEST_ID_BYTES);
    this.offset += REQUEST_ID_BYTES;
    return id;
  }
}
