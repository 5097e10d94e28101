#!/usr/bin/env bash
# Side-by-side throughput of Redis directly and through respguard (plain TCP), with
# redis-benchmark on loopback. Targets are interleaved round by round so that machine noise
# hits both alike; the report gives medians and the ratio respguard/direct.
#
# Usage: bash bench/e2e/run.sh [ROUNDS] [REQUESTS]    (defaults: 5 rounds, 200000 requests)
# Needs redis-server, redis-benchmark and a built respguard (npm ci).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
requests=${2:-200000}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

redis_port=$(free_port)
proxy_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --requirepass bench-upstream >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"
cat >"$work/respguard.yaml" <<YAML
listeners:
  - host: 127.0.0.1
    port: $proxy_port
upstream:
  host: 127.0.0.1
  port: $redis_port
  password: bench-upstream
log:
  level: warn
users:
  bench:
    acl: "on >bench-pass ~* +@all -@dangerous"
YAML
node bin/respguard.js --config "$work/respguard.yaml" >"$work/respguard.log" 2>&1 &
proxy_pid=$!
pids+=($proxy_pid)
wait_port "$proxy_port"
sleep 0.5

# run TARGET PORT PIPELINE: one redis-benchmark run; prints "target pipeline test rps p50 p99".
run() {
  local target=$1 port=$2 pipeline=$3
  redis-benchmark -h 127.0.0.1 -p "$port" --user "$4" -a "$5" -t set,get -n "$requests" -c 50 -d 64 -P "$pipeline" --csv 2>/dev/null |
    awk -F, -v t="$target" -v p="$pipeline" 'NR > 1 { gsub(/"/, ""); print t, p, $1, $2, $5, $7 }'
}

results=$work/results.txt
: >"$results"
for round in $(seq "$rounds"); do
  for pipeline in 1 16; do
    run direct "$redis_port" "$pipeline" default bench-upstream >>"$results"
    run respguard "$proxy_port" "$pipeline" bench bench-pass >>"$results"
  done
  echo "round $round of $rounds done" >&2
done

proxy_cpu=$(awk '{ print ($14 + $15) / 100 }' "/proc/$proxy_pid/stat")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); node $(node --version); $(redis-server --version | cut -d' ' -f3)"
echo "command: bash bench/e2e/run.sh $rounds $requests (50 clients, 64-byte values)"
cat "$results" >&2
node - "$results" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((line) => line.split(' '));
const median = (values) => { const s = [...values].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const groups = new Map();
for (const [target, pipeline, test, rps, p50, p99] of rows) {
  const key = `${test} P=${pipeline}`;
  if (!groups.has(key)) groups.set(key, {});
  const g = groups.get(key);
  (g[target] ??= []).push({ rps: Number(rps), p50: Number(p50), p99: Number(p99) });
}
console.log('| test | direct rps | respguard rps | ratio | direct p50/p99 ms | respguard p50/p99 ms |');
console.log('|---|---|---|---|---|---|');
for (const [key, g] of groups) {
  const d = g.direct, r = g.respguard;
  const dr = median(d.map((x) => x.rps)), rr = median(r.map((x) => x.rps));
  console.log(`| ${key} | ${dr.toFixed(0)} | ${rr.toFixed(0)} | ${(rr / dr).toFixed(2)} | ${median(d.map((x) => x.p50)).toFixed(3)}/${median(d.map((x) => x.p99)).toFixed(3)} | ${median(r.map((x) => x.p50)).toFixed(3)}/${median(r.map((x) => x.p99)).toFixed(3)} |`);
}
JS
echo "respguard CPU seconds over the whole run: $proxy_cpu"
