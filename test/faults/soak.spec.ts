/**
 * The soak's pass/fail (`npm run soak`, bench/soak/): a wrong RPC reply or a failed RPC call fails the run, as a
 * lost event does (it used to count them and pass anyway). The verdict on made-up reports, then a short calm slice
 * of the real scenario on mosquitto whose RPC handler answers one call wrong and fails another.
 */
import { describe, expect, it } from '@jest/globals';
import { RpcException } from '@nestjs/microservices';
import { runSoak, type SoakReport } from '../../bench/soak/scenario.mjs';
import { soakVerdict } from '../../bench/soak/verdict.mjs';
import { connect } from '../../lib/driver/index.js';
import { ClientMqttAsync, ServerMqttAsync } from '../../lib/nest/index.js';
import { describeMosquitto } from '../support/mosquitto.js';

type Verdictable = Pick<SoakReport, 'events' | 'rpc' | 'unsettledPublishes' | 'heapMB'>;

function cleanReport(): Verdictable {
  return {
    events: [0, 1, 2].map((qos) => ({
      qos,
      sent: 100,
      acked: 100,
      rejected: 0,
      handled: qos === 0 ? 98 : 100,
      lost: qos === 0 ? 2 : 0, // QoS 0 may lose (at most once)
      duplicated: qos === 1 ? 3 : 0, // QoS 1 may duplicate (at least once)
      lostAtMs: [],
    })),
    rpc: { sent: 50, ok: 50, wrong: 0, failed: {} },
    unsettledPublishes: 0,
    heapMB: { start: 10, end: 10.5, growthPercent: 5, gc: true },
  };
}

describe('soak verdict', () => {
  it('passes a run that meets every target (QoS 0 losses and QoS 1 duplicates are allowed)', () => {
    expect(soakVerdict(cleanReport())).toEqual({ met: true, missed: [] });
  });

  it.each<[string, (r: Verdictable) => void, string[]]>([
    ['a wrong reply', (r) => Object.assign(r.rpc, { ok: 49, wrong: 1 }), ['RPC: 1 wrong reply']],
    [
      'failed calls',
      (r) => Object.assign(r.rpc, { ok: 47, failed: { MqttAsyncRequestTimeoutError: 2, 'error reply': 1 } }),
      ['RPC: 3 failed (MqttAsyncRequestTimeoutError 2, error reply 1)'],
    ],
    ['no call answered', (r) => Object.assign(r.rpc, { sent: 0, ok: 0 }), ['RPC: no call answered']],
    ['a call never settled', (r) => Object.assign(r.rpc, { sent: 51 }), ['RPC: 1 calls never settled']],
    [
      'a lost QoS 1 event',
      (r) => Object.assign(r.events[1] ?? {}, { lost: 1 }),
      ['QoS 1: 1 lost (confirmed, never handled)'],
    ],
    ['a duplicated QoS 2 event', (r) => Object.assign(r.events[2] ?? {}, { duplicated: 1 }), ['QoS 2: 1 duplicated']],
    ['an unsettled publish', (r) => Object.assign(r, { unsettledPublishes: 4 }), ['4 publishes never settled']],
    ['heap growth of 10%', (r) => Object.assign(r.heapMB, { growthPercent: 10 }), ['heap +10% (target < 10%)']],
  ])('fails %s', (_what, spoil, missed) => {
    const report = cleanReport();
    spoil(report);
    expect(soakVerdict(report)).toEqual({ met: false, missed });
  });
});

describeMosquitto('soak slice (mosquitto, no faults) with planted RPC errors', () => {
  it('a planted wrong reply and a planted failed call fail the run; every other call is right', async () => {
    let calls = 0;
    const answer = ({ a, b }: { a: number; b: number }) => {
      calls++;
      if (calls === 3) return { sum: a + b + 1 };
      if (calls === 5) throw new RpcException('planted failure');
      return { sum: a + b };
    };
    const report = await runSoak(
      { connect, ServerMqttAsync, ClientMqttAsync },
      { durationMs: 3_000, rate: 50, faults: false, answer, log: () => undefined },
    );
    expect(calls).toBeGreaterThan(5);
    expect({ wrong: report.rpc.wrong, failed: report.rpc.failed }).toEqual({ wrong: 1, failed: { 'error reply': 1 } });
    expect(report.rpc.ok).toBe(report.rpc.sent - 2);
    expect(report.targetsMet).toBe(false);
    expect(report.missedTargets).toEqual(
      expect.arrayContaining(['RPC: 1 wrong reply', 'RPC: 1 failed (error reply 1)']),
    );
  }, 60_000);
});
