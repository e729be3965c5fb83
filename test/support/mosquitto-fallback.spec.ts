/**
 * The no-mosquitto fallback of `describeMosquitto` (test/support/mosquitto.ts) must accept everything specs call
 * on it — `describeMosquitto(...)` and `describeMosquitto.each(table)(...)` — skip their tests, and say so once.
 * Exercised here with a binary that does not exist, so it runs on machines that do have mosquitto.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { skippingDescribe } from './mosquitto.js';

const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
const fallback = skippingDescribe('/nonexistent/mosquitto');
let registered: unknown;
try {
  fallback.each([5, 4] as const)('fallback .each (MQTT %s)', (version) => {
    it(`is skipped (${version}) (expected skip)`, () => {
      throw new Error('a test under the no-mosquitto fallback ran');
    });
  });
  fallback('fallback plain', () => {
    it('is skipped (expected skip)', () => {
      throw new Error('a test under the no-mosquitto fallback ran');
    });
  });
  registered = 'ok';
} catch (err) {
  registered = err;
}
const notices = warn.mock.calls.map((args) => String(args[0]));
warn.mockRestore();

describe('describeMosquitto without mosquitto', () => {
  it('supports .each and plain calls without throwing', () => {
    expect(registered).toBe('ok');
  });

  it('prints one visible SKIPPED notice naming the missing binary', () => {
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^SKIPPED: "fallback \.each \(MQTT %s\)" needs \/nonexistent\/mosquitto/);
  });
});
