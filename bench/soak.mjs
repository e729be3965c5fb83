/**
 * `npm run soak [-- --duration=60s --rate=100 --no-gate]` (default 10 minutes): the scenario of
 * bench/soak/scenario.mjs on dist/ — two ServerMqttAsync instances in shared groups (events at QoS 0/1/2 and RPC),
 * a driver publisher and a ClientMqttAsync RPC caller on a private mosquitto with persistence behind proxies that
 * cut connections at random while mosquitto is restarted at random. Prints sent/handled/lost/duplicated per QoS,
 * RPC outcomes, unsettled publishes and the heap after GC at start and end. Exit 1 when a target is missed
 * (bench/soak/verdict.mjs): 0 lost at QoS >= 1, 0 duplicated at QoS 2, 0 unsettled, heap growth < 10%, every RPC
 * call answered with the right result (0 wrong, 0 failed). See waitForGroup() for the restart gate.
 */
import { connect } from '../dist/driver/index.js';
import { ClientMqttAsync, ServerMqttAsync } from '../dist/nest/index.js';
import { options } from './lib/args.mjs';
import { MOSQUITTO_BIN } from './lib/mosquitto.mjs';
import { runSoak } from './soak/scenario.mjs';

const args = options();
/** @param {string} s */
function parseDuration(s) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (!m) throw new Error(`--duration=${s}: use e.g. 60s, 10m`);
  const unit = /** @type {'ms' | 's' | 'm' | 'h'} */ (m[2] ?? 's');
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit];
}

if (!MOSQUITTO_BIN) {
  // Not a pass: a soak that did not run proves nothing, so CI must not see exit code 0 here.
  console.error(
    'FAILED: the soak needs mosquitto (apt-get install mosquitto; not found on PATH or in sbin, or HIDE_BROKERS=1)',
  );
  process.exit(1);
}

const report = await runSoak(
  { connect, ServerMqttAsync, ClientMqttAsync },
  {
    durationMs: parseDuration(args.string('duration', '10m')),
    rate: args.number('rate', 100), // events per second per QoS
    gate: !args.flag('no-gate'),
  },
);
console.log(JSON.stringify(report, null, 2));
if (!report.targetsMet) console.error(`FAILED: ${report.missedTargets.join('; ')}`);
process.exit(report.targetsMet ? 0 : 1);
