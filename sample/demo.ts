import { startSample } from './main.js';
import { runScenario } from './scenario.js';

/**
 * `npm run sample:demo`: starts the sample (embedded broker on a free port, or MQTT_URL), runs the whole scenario
 * and exits 0, or 1 with the reason.
 */
async function main(): Promise<void> {
  const sample = await startSample({
    ...(process.env.MQTT_URL ? { mqttUrl: process.env.MQTT_URL } : { mqttPort: 0 }),
    httpPort: 0,
    logger: ['warn', 'error'],
    tracing: true,
  });
  try {
    console.log(`sample: MQTT ${sample.mqttUrl}${sample.broker ? ' (embedded aedes)' : ''}, HTTP ${sample.httpUrl}`);
    console.log('(an ERROR line about temperature-sensors/t2 is expected: the sample rejects a non-numeric reading)');
    const report = await runScenario(sample.mqttUrl, sample.httpUrl);
    console.log(`✓ temperature event: t1 = ${report.temperature.celsius} °C; a non-numeric reading was rejected`);
    console.log(`✓ RPC devices/t1/cmd → ${JSON.stringify(report.commandReply)}`);
    console.log(`✓ RPC with an invalid command → error ${report.invalidCommandError}`);
    const j = report.jobs;
    console.log(
      `✓ shared pool 'pool-a': ${j.published} jobs, ${j.byService} by the service (results on devices/events), ${j.byOtherMember} by a second member, ${j.duplicates} duplicates`,
    );
    const d = report.docs;
    console.log(
      `✓ AsyncAPI: /docs.json (${d.operations} operations; channels ${d.channels.join(', ')}), /docs (${d.htmlBytes} bytes), offline bundle (${d.bundleBytes} bytes)`,
    );
  } finally {
    await sample.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
