#!/usr/bin/env bash
# bankd against the seed system's stack (Benchmarks/peers/flask_bank.py: Flask + SQLAlchemy +
# SQLite, WAL, synchronous=FULL, under gunicorn), in one run, with wrk: requests per second and
# p50/p99 latency of GET balance and of durable POST deposits, at 1 and 64 connections.
#   Tools/bench_service.sh [SECONDS]      (needs wrk, flask, sqlalchemy, gunicorn)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
swift build -c release --package-path Server --product bankd >/dev/null 2>&1
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# bankd on the demo bank, a teller's session.
Server/.build/release/bankd --store "$work/bank.journal" --demo --port 18470 --event-port 0 \
  --log-level error >"$work/bankd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do grep -q "listening on" "$work/bankd.out" && break; sleep 0.1; done
btoken=$(curl -sf -X POST http://127.0.0.1:18470/v1/sessions -H 'Content-Type: application/json' \
  -d '{"staff":"tina","password":"service desk 2026 blue"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["session"])')
account=1000-0011-6

# The peer, with the same account and a session token.
python3 Benchmarks/peers/flask_bank.py --db "$work/peer.db" --setup "$account" --token peer-token
(cd Benchmarks/peers && PEER_DB="$work/peer.db" exec gunicorn -w 2 --threads 16 -b 127.0.0.1:18471 \
  --log-level warning 'flask_bank:wsgi()') >"$work/peer.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:18471/ && break; sleep 0.1; done

cat >"$work/get.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"amount":"1.00"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA

run() { # name port token script path connections
  local out
  out=$(TOKEN="$3" wrk -t "$([ "$6" -gt 1 ] && echo 2 || echo 1)" -c "$6" -d "${seconds}s" --latency \
    -s "$work/$4" "http://127.0.0.1:$2$5")
  local rps p50 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | grep -E "Non-2xx|Socket errors" | tr '\n' ' ' || true)
  printf '%-8s %-14s %4s conns  %10s req/s  p50 %8s  p99 %8s  %s\n' "$1" "$4" "$6" "$rps" "$p50" "$p99" "$errors"
  echo "$1 $4 $6 $rps" >>"$work/results"
}
echo "wrk, ${seconds} s each, on $(nproc) cores"
for c in 1 64; do
  run bankd 18470 "$btoken" get.lua "/v1/accounts/$account" "$c"
  run flask 18471 peer-token get.lua "/v1/accounts/$account" "$c"
  run bankd 18470 "$btoken" post.lua "/v1/accounts/$account/deposits" "$c"
  run flask 18471 peer-token post.lua "/v1/accounts/$account/deposits" "$c"
done
python3 - "$work/results" <<'PY'
import sys
r = {}
for line in open(sys.argv[1]):
    who, script, conns, rps = line.split()
    r[(who, script, conns)] = float(rps)
for script, label in (("get.lua", "GET balance"), ("post.lua", "POST deposits")):
    for c in ("1", "64"):
        b, f = r.get(("bankd", script, c), 0), r.get(("flask", script, c), 0)
        print(f"{label:14s} at {c:>2s} connections: bankd / flask = {b / f if f else float('inf'):.1f}x")
PY
