#!/usr/bin/env node
// `npm run mutate -- <scope> [more stryker args]`: one Stryker run for one scope of stryker.config.mjs
// (session, router, server, routing). Brokers are hidden so that mosquitto-only specs skip instead of starting
// brokers for every mutant.
import { spawnSync } from 'node:child_process';

const scopes = ['session', 'router', 'server', 'routing'];
const [scope, ...rest] = process.argv.slice(2);
if (!scopes.includes(scope ?? '')) {
  console.error(`usage: npm run mutate -- <${scopes.join('|')}> [stryker options]`);
  process.exit(2);
}
const result = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...rest], {
  stdio: 'inherit',
  env: { ...process.env, MUTATE_SCOPE: scope, HIDE_BROKERS: '1' },
});
process.exit(result.status ?? 1);
