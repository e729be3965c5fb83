/** Types of verdict.mjs (plain JS so `npm run soak` runs it without a loader). */
import type { SoakReport } from './scenario.mjs';

export function soakVerdict(report: Pick<SoakReport, 'events' | 'rpc' | 'unsettledPublishes' | 'heapMB'>): {
  met: boolean;
  missed: string[];
};
