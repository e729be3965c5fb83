/**
 * Keep Alive on a fake clock: exact times, no real sleeps. (test/hostile/stalled-loop.spec.ts and the
 * faults-proxy / server-limits keepalive cases are the end-to-end ones on a real socket.)
 */
import { describe, expect, it } from '@jest/globals';
import { MqttProtocolError } from '../../../lib/driver/errors.js';
import { Keepalive } from '../../../lib/driver/keepalive.js';
import { FakeClock } from './fake-clock.js';

function setup() {
  const clock = new FakeClock();
  const log: string[] = [];
  const start = clock.now();
  const at = () => clock.now() - start;
  const keepalive = new Keepalive(
    {
      ping: () => {
        log.push(`ping@${at()}`);
        keepalive.sent(); // the connection reports every write
      },
      dead: (e) => log.push(`dead@${at()}:${e.reasonCode}`),
    },
    clock,
  );
  // CONNECT was written (not reported as sent) and CONNACK received at t=0.
  keepalive.received();
  return { clock, keepalive, log, at };
}

describe('Keepalive (fake clock)', () => {
  it('keepalive 1 s, a broker that answers: a PINGREQ per half period once nothing else is sent', () => {
    const { clock, keepalive, log } = setup();
    keepalive.sent();
    keepalive.start(1);
    clock.advance(499);
    expect(log).toEqual([]);
    clock.advance(1); // t=500: half a period without sending or receiving
    expect(log).toEqual(['ping@500']);
    keepalive.received(); // PINGRESP
    clock.advance(500);
    expect(log).toEqual(['ping@500', 'ping@1000']);
  });

  it('nothing written since CONNECT: the first check (a quarter period) sends a PINGREQ', () => {
    const { clock, keepalive, log } = setup();
    keepalive.start(1);
    clock.advance(250);
    expect(log).toEqual(['ping@250']);
  });

  it('a silent broker is a dead link exactly 1.5 periods after the last packet received, though we keep sending', () => {
    const { clock, keepalive, log, at } = setup();
    keepalive.start(1);
    clock.advance(300);
    keepalive.received(); // t=300: the last packet from the broker
    while (at() < 1700) {
      keepalive.sent();
      clock.advance(100);
    }
    clock.advance(99);
    expect(log.filter((l) => l.startsWith('dead'))).toEqual([]);
    clock.advance(1); // t=1800 = 300 + 1.5 periods
    expect(log.at(-1)).toBe('dead@1800:141');
    expect(clock.pending).toBe(0); // not checked again
  });

  it('the dead link is reported as MqttProtocolError 0x8D', () => {
    const clock = new FakeClock();
    const errors: MqttProtocolError[] = [];
    const keepalive = new Keepalive({ ping: () => undefined, dead: (e) => errors.push(e) }, clock);
    keepalive.received();
    keepalive.start(2);
    clock.advance(3000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MqttProtocolError);
    expect(errors[0]?.reasonCode).toBe(0x8d);
  });

  it('received packets keep the link up indefinitely', () => {
    const { clock, keepalive, log } = setup();
    keepalive.start(1);
    for (let i = 0; i < 100; i++) {
      clock.advance(400);
      keepalive.received();
    }
    expect(log.filter((l) => l.startsWith('dead'))).toEqual([]);
  });

  it('a stalled loop (timer wakes 2.5 s late, keepalive 1 s): PINGREQ at the wake, half a period to answer', () => {
    const { clock, keepalive, log, at } = setup();
    keepalive.sent();
    keepalive.start(1);
    clock.advance(500); // ping@500
    keepalive.received();
    clock.stall(2500);
    const woke = at();
    expect(log).toEqual(['ping@500', `ping@${woke}`]); // not dead at once
    keepalive.received(); // the PINGRESP (and what the broker sent meanwhile) is read
    clock.advance(1499); // the link is judged from that answer on, as before the stall
    expect(log.filter((l) => l.startsWith('dead'))).toEqual([]);
    clock.advance(1);
    expect(log.at(-1)).toBe(`dead@${woke + 1500}:141`);
  });

  it('a stalled loop and no answer after it: dead half a period after the wake', () => {
    const { clock, keepalive, log, at } = setup();
    keepalive.sent();
    keepalive.start(1);
    clock.advance(500);
    clock.stall(2500);
    const woke = at();
    clock.advance(1000);
    expect(log.at(-1)).toBe(`dead@${woke + 500}:141`);
  });

  it('period 0 starts nothing; stop() cancels; start() again replaces the running timer', () => {
    const { clock, keepalive, log } = setup();
    keepalive.start(0);
    expect(clock.pending).toBe(0);
    keepalive.start(1);
    keepalive.start(1);
    expect(clock.pending).toBe(1);
    keepalive.stop();
    clock.advance(10_000);
    expect(log).toEqual([]);
  });
});
