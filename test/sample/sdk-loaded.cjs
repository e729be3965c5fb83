// Preloaded into the sample's process (node --require): on SIGUSR2 it prints whether the OpenTelemetry Node SDK
// has been loaded. ESM imports of CommonJS packages (the SDK is one) go through require.cache too.
const { sep } = require('node:path');

process.on('SIGUSR2', () => {
  const marker = `${sep}@opentelemetry${sep}sdk-node${sep}`;
  const loaded = Object.keys(require.cache).some((file) => file.includes(marker));
  process.stdout.write(`opentelemetry sdk-node loaded: ${loaded}\n`);
});
