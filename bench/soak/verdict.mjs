/**
 * The soak's pass/fail, from its report: every target it misses, in words. A run passes only when nothing is
 * missed — no QoS 1/2 event lost, no QoS 2 event duplicated, no publish left unsettled, heap growth under 10%, and
 * every RPC call answered with the right result (a wrong reply or a failed call is a miss, as is a run in which no
 * call or no event got through at all).
 */
export function soakVerdict(report) {
  const missed = [];
  for (const q of report.events) {
    if (q.sent === 0) missed.push(`QoS ${q.qos}: nothing published`);
    if (q.qos > 0 && q.lost > 0) missed.push(`QoS ${q.qos}: ${q.lost} lost (confirmed, never handled)`);
  }
  const qos2 = report.events.find((q) => q.qos === 2);
  if (qos2 && qos2.duplicated > 0) missed.push(`QoS 2: ${qos2.duplicated} duplicated`);
  if (report.unsettledPublishes > 0) missed.push(`${report.unsettledPublishes} publishes never settled`);
  if (!(report.heapMB.growthPercent < 10)) missed.push(`heap +${report.heapMB.growthPercent}% (target < 10%)`);
  const { sent, ok, wrong, failed } = report.rpc;
  const failures = Object.values(failed).reduce((a, b) => a + b, 0);
  if (wrong > 0) missed.push(`RPC: ${wrong} wrong ${wrong === 1 ? 'reply' : 'replies'}`);
  if (failures > 0) {
    const kinds = Object.entries(failed).map(([name, n]) => `${name} ${n}`);
    missed.push(`RPC: ${failures} failed (${kinds.join(', ')})`);
  }
  if (ok === 0) missed.push('RPC: no call answered');
  if (ok + wrong + failures !== sent) missed.push(`RPC: ${sent - ok - wrong - failures} calls never settled`);
  return { met: missed.length === 0, missed };
}
