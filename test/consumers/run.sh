#!/usr/bin/env bash
# Consumer fixtures (issue 13): packs this package (`npm pack`, which builds it through `prepack`), installs the
# tarball into a fresh copy of each fixture app WITHOUT --legacy-peer-deps, then runs that app's typecheck and its
# own test runner on shared/consumer.spec.ts (in-memory broker, RPC with params, an event, mosquitto v5 and 3.1.1,
# the driver entry, AsyncAPI without the optional peers).
#
#   test/consumers/run.sh                       # all three
#   test/consumers/run.sh nest11-cjs            # one
#
# Installs share one npm cache ($npm_config_cache, default ~/.npm) and use the committed lockfiles; a warm cache
# makes each install a few seconds. Needs mosquitto (found by test/support/binaries.mjs) and the npm registry.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FIXTURES=("$@")
[ ${#FIXTURES[@]} -gt 0 ] || FIXTURES=(nest11-cjs nest12-esm-vitest nest12-esm-jest)

WORK="$(mktemp -d "${TMPDIR:-/tmp}/consumers.XXXXXX")"
chmod 755 "$WORK"
MOSQ_PID=""
cleanup() {
  [ -z "$MOSQ_PID" ] || kill "$MOSQ_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

MOSQUITTO="$(node "$ROOT/test/support/binaries.mjs" mosquitto)" || {
  echo "consumers: mosquitto not found (apt-get install mosquitto); the fixtures need it" >&2
  exit 1
}
PORT="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nlog_type error\n' "$PORT" >"$WORK/mosquitto.conf"
"$MOSQUITTO" -c "$WORK/mosquitto.conf" &
MOSQ_PID=$!
node -e "
  const net = require('net'); const deadline = Date.now() + 10000;
  (function tryOnce() {
    const s = net.connect($PORT, '127.0.0.1', () => { s.destroy(); process.exit(0); });
    s.on('error', () => Date.now() > deadline ? process.exit(1) : setTimeout(tryOnce, 50));
  })();" || { echo "consumers: mosquitto did not open port $PORT" >&2; exit 1; }
export MQTT_URL="mqtt://127.0.0.1:$PORT"

echo "consumers: packing"
(cd "$ROOT" && npm pack --silent --pack-destination "$WORK" >/dev/null)
TARBALL="$(ls "$WORK"/nest-mqtt-async-*.tgz)"

# Installs in parallel (network-bound); tests one app at a time (they share the broker and its topics).
install() {
  local name=$1 app="$WORK/$1" start
  start=$(date +%s)
  mkdir -p "$app/src"
  (cd "$HERE/$name" && tar --exclude=node_modules --exclude=dist -cf - .) | (cd "$app" && tar -xf -)
  cp "$HERE/shared/consumer.spec.ts" "$app/src/consumer.spec.ts"
  if (cd "$app" && npm install --no-audit --no-fund --prefer-offline --loglevel=error "$TARBALL") >"$app.install.log" 2>&1
  then echo "$(($(date +%s) - start))" >"$app.installed"
  else echo "consumers: $name: npm install failed:" >&2; cat "$app.install.log" >&2
  fi
}
echo "consumers: installing the tarball into ${FIXTURES[*]}"
pids=()
for name in "${FIXTURES[@]}"; do
  install "$name" &
  pids+=($!)
done
wait "${pids[@]}" # not a bare `wait`: that would wait for mosquitto too

declare -a SUMMARY=()
failed=0
for name in "${FIXTURES[@]}"; do
  app="$WORK/$name"
  start=$(date +%s)
  status=pass
  if [ ! -f "$app.installed" ]; then
    status="FAIL (install)"
  else
    echo "consumers: $name: typecheck and tests"
    if ! (cd "$app" && npm run --silent typecheck); then
      status="FAIL (typecheck)"
    elif ! (cd "$app" && npm test --silent); then
      status="FAIL (tests)"
    fi
  fi
  [ "$status" = pass ] || failed=1
  SUMMARY+=("$(printf '%-20s %-18s install %4ss  typecheck+tests %4ss' "$name" "$status" "$(cat "$app.installed" 2>/dev/null || echo -)" $(($(date +%s) - start)))")
done

echo
echo "consumers: results"
printf '  %s\n' "${SUMMARY[@]}"
exit $failed
