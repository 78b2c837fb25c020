#!/usr/bin/env bash
# bankd on PostgreSQL against pgbench, on one private PostgreSQL server, in one run: durable
# transfers per second through 1 node and through 3 nodes (64 clients in all, wrk), their p99, and
# pgbench's TPC-B-like figure at the same client count on the same server.
#   Tools/bench_pg.sh [SECONDS]       (needs wrk, pgbench; builds bankd and bankctl-pg in release)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
swift build -c release --package-path Server --product bankd >/dev/null 2>&1
swift build -c release --package-path Server --product bankctl-pg >/dev/null 2>&1
work=$(mktemp -d)
chmod 755 "$work"
pids=()
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pgport=$(free_port)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  bash Tools/pg_private.sh stop "$work/pg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
url=$(bash Tools/pg_private.sh start "$work/pg" "$pgport")
bash Tools/pg_private.sh sql "$work/pg" "$pgport" "CREATE DATABASE pgbench" >/dev/null
ctl() { BANKCTL_POSTGRES="$url" Server/.build/release/bankctl-pg --pin-key "$work/pin.key" "$@"; }
ctl demo >/dev/null
ctl deposit 1000-0011-6 1000000 >/dev/null

start_node() { # port -> pid
  BANKD_POSTGRES="$url" Server/.build/release/bankd --pin-key "$work/pin.key" --port "$1" \
    --event-port 0 --log-level error >"$work/node-$1.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do grep -q "listening on" "$work/node-$1.out" && return; sleep 0.1; done
  echo "bankd on port $1 did not start"; cat "$work/node-$1.out"; exit 1
}
ports=($(free_port) $(free_port) $(free_port))
for p in "${ports[@]}"; do start_node "$p"; done
token=$(curl -sf -X POST "http://127.0.0.1:${ports[0]}/v1/sessions" -H 'Content-Type: application/json' \
  -d '{"customer":"C000001","password":"analytical engine 1843"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["session"])')
cat >"$work/transfer.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"from":"1000-0011-6","to":"1000-0013-2","amount":"0.01"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA
wrk_run() { # port connections out
  TOKEN="$token" wrk -t 1 -c "$2" -d "${seconds}s" --latency -s "$work/transfer.lua" \
    "http://127.0.0.1:$1/v1/transfers" >"$3"
}
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1=="99%" {print $2}' "$1"; }
errors() { grep -E "Non-2xx|Socket errors" "$1" | tr '\n' ' ' || true; }

echo "on $(nproc) cores, ${seconds} s each, one PostgreSQL 15 server (synchronous_commit on, fsync on)"
# pgbench's TPC-B-like transaction at 64 clients on the same server.
pgbench_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r | head -1)/pgbench
[ -x "$pgbench_bin" ] || pgbench_bin=$(command -v pgbench)
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
"${as_pg[@]}" "$pgbench_bin" -h "$work/pg/run" -p "$pgport" -U bank -i -s 10 -q pgbench >/dev/null 2>&1
pgb=$("${as_pg[@]}" "$pgbench_bin" -h "$work/pg/run" -p "$pgport" -U bank -c 64 -j 2 -T "$seconds" \
  pgbench 2>/dev/null | awk '/^tps/ {print $3; exit}')
printf '%-34s %10s tps\n' "pgbench TPC-B-like, 64 clients" "$pgb"

journal() { bash Tools/pg_private.sh psql "$work/pg" "$pgport" bank \
  "SELECT count(*) || ' ' || coalesce(max(last_seq), 0) FROM bankcore_batches"; }
cpu() { awk '/^cpu / {print $2+$3+$4+$6+$7+$8, $5}' /proc/stat; } # busy idle (jiffies)
idle_share() { # "busy0 idle0" "busy1 idle1" -> idle % of the cores over the phase
  python3 -c "b0,i0=map(int,'$1'.split()); b1,i1=map(int,'$2'.split()); print(f'{100*(i1-i0)/max(1,(b1-b0)+(i1-i0)):.0f} % idle')"
}
read -r b0 r0 <<<"$(journal)"
c0=$(cpu)
wrk_run "${ports[0]}" 64 "$work/one"
c1=$(cpu)
read -r b1 r1 <<<"$(journal)"
printf '%-34s %10s transfers/s  p99 %8s  %s\n' "bankd, 1 node, 64 connections" "$(rps "$work/one")" "$(p99 "$work/one")" "$(errors "$work/one")"
python3 -c "b=$b1-$b0; r=$r1-$r0; print(f'  {r} records in {b} batches: {r/max(b,1):.1f} transfers per append (combined commits)')"
echo "  the two cores: $(idle_share "$c0" "$c1")"

read -r b1 r1 <<<"$(journal)"
c1=$(cpu)
wrk_run "${ports[0]}" 22 "$work/n1" &
w1=$!
wrk_run "${ports[1]}" 21 "$work/n2" &
w2=$!
wrk_run "${ports[2]}" 21 "$work/n3" &
w3=$!
wait $w1 $w2 $w3
c2=$(cpu)
read -r b2 r2 <<<"$(journal)"
three=$(python3 -c "print(round($(rps "$work/n1") + $(rps "$work/n2") + $(rps "$work/n3"), 2))")
printf '%-34s %10s transfers/s  p99 %s / %s / %s  %s\n' "bankd, 3 nodes, 64 connections" "$three" \
  "$(p99 "$work/n1")" "$(p99 "$work/n2")" "$(p99 "$work/n3")" "$(errors "$work/n1")$(errors "$work/n2")$(errors "$work/n3")"
python3 -c "b=$b2-$b1; r=$r2-$r1; print(f'  {r} records in {b} batches: {r/max(b,1):.1f} transfers per append')"
echo "  the two cores: $(idle_share "$c1" "$c2")"
python3 - "$pgb" "$(rps "$work/one")" "$three" <<'PY'
import sys
pgb, one, three = map(float, sys.argv[1:])
print(f"1 node / pgbench: {one / pgb:.2f}x (target 3x); 3 nodes / 1 node: {three / one:.2f}x (target within 20 %: >= 0.80x)")
PY
ctl verify | head -3

# The ceiling of this machine's HTTP path, whatever the storage: the same load against one bankd
# on a file store in memory (tmpfs, so a sync costs nothing), with no PostgreSQL running.
bash Tools/pg_private.sh stop "$work/pg" >/dev/null 2>&1 || true
shm=$(mktemp -d /dev/shm/bankbench.XXXXXX)
trap 'cleanup; rm -rf "$shm"' EXIT
mport=$(free_port)
swift build --product bankctl >/dev/null 2>&1
.build/debug/bankctl --store "$shm/bank.journal" demo >/dev/null
.build/debug/bankctl --store "$shm/bank.journal" deposit 1000-0011-6 1000000 >/dev/null
Server/.build/release/bankd --store "$shm/bank.journal" --port "$mport" --event-port 0 \
  --log-level error >"$work/node-mem.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do grep -q "listening on" "$work/node-mem.out" && break; sleep 0.1; done
token=$(curl -sf -X POST "http://127.0.0.1:$mport/v1/sessions" -H 'Content-Type: application/json' \
  -d '{"customer":"C000001","password":"analytical engine 1843"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["session"])')
wrk_run "$mport" 64 "$work/mem"
printf '%-34s %10s transfers/s  p99 %8s  %s\n' "bankd, file store on tmpfs (ceiling)" "$(rps "$work/mem")" "$(p99 "$work/mem")" "$(errors "$work/mem")"
python3 - "$pgb" "$(rps "$work/mem")" <<'PY'
import sys
pgb, mem = map(float, sys.argv[1:])
print(f"the HTTP path's ceiling / pgbench: {mem / pgb:.2f}x (a storage backend cannot take 1 node past it)")
PY
