#!/usr/bin/env bash
# Runs BankCore and its peers one after the other, on the same disk and data sizes, and prints
# the ratios. Peers: SQLite (WAL, synchronous=FULL, prepared statements, C), PostgreSQL with
# pgbench's built-in TPC-B-like script, the disk's own fdatasync rate, and Python's hashlib for
# SHA-256 and PBKDF2 (bankbench measures that one itself, in the same run).
#
#   Benchmarks/compare.sh [--quick]     (--quick: one run each, smaller PostgreSQL run)
#
# Installs sqlite3 headers and PostgreSQL from Debian's packages when missing. PostgreSQL runs on
# a private port and socket directory under a temporary folder and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
runs=5; pgtime=20
[ $quick = 1 ] && { runs=1; pgtime=5; }
work="$PWD/.bench-tmp/compare"
rm -rf "$work"; mkdir -p "$work"
say() { printf '%s\n' "$*" >&2; }

need_apt() {
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null 2>&1 || true
  fi
}
[ -f /usr/include/sqlite3.h ] || need_apt libsqlite3-dev
command -v pgbench >/dev/null 2>&1 || need_apt postgresql postgresql-contrib

say "== building bankbench (release)"
swift build -c release --product bankbench >/dev/null
say "== BankCore"
.build/release/bankbench --runs "$runs" --dir "$work/bank" --json >"$work/bank.json"

say "== SQLite peer"
cc -O2 Benchmarks/peers/sqlite_peer.c -lsqlite3 -o "$work/sqlite_peer"
declare -A sqlite
for b in 1 100 8190; do
  n=2000; [ $b = 100 ] && n=100000; [ $b = 8190 ] && n=1000000
  [ $quick = 1 ] && { n=$((b * 20)); [ $b = 1 ] && n=500; }
  sqlite[$b]=$("$work/sqlite_peer" "$work/peer.db" 10000 $n $b)
done

say "== PostgreSQL pgbench (TPC-B-like, scale 1)"
pg_tps1=""; pg_tps16=""
pgbin=$(dirname "$(command -v pg_ctl 2>/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -1)")
if [ -x "$pgbin/initdb" ] && command -v pgbench >/dev/null 2>&1; then
  pgdir="$work/pg"; mkdir -p "$pgdir/sock"
  runas=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd -r -M postgres
    chown -R postgres "$pgdir"
    runas=(runuser -u postgres --)
  fi
  port=54329
  "${runas[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust >/dev/null
  "${runas[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $port -k $pgdir/sock -c listen_addresses='' -c fsync=on -c synchronous_commit=on" start >/dev/null
  trap '"${runas[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true' EXIT
  "${runas[@]}" pgbench -h "$pgdir/sock" -p $port -i -s 1 postgres >/dev/null 2>&1
  pg_tps1=$("${runas[@]}" pgbench -h "$pgdir/sock" -p $port -c 1 -j 1 -T $pgtime -n postgres 2>/dev/null | awk '/^tps/ {print int($3)}')
  pg_tps16=$("${runas[@]}" pgbench -h "$pgdir/sock" -p $port -c 16 -j 2 -T $pgtime -n postgres 2>/dev/null | awk '/^tps/ {print int($3)}')
else
  say "PostgreSQL is not available; its rows are left empty"
fi

python3 - "$work/bank.json" "${sqlite[1]}" "${sqlite[100]}" "${sqlite[8190]}" "${pg_tps1:-0}" "${pg_tps16:-0}" <<'PY'
import json, sys
bank = {r["name"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
sq1, sq100, sq8190, pg1, pg16 = (float(x or 0) for x in sys.argv[2:7])
def ratio(a, b): return f"{a / b:.1f}x" if a and b else "n/a"
rows = [
  ("durable, 1 transfer per commit", bank.get("file.transfers.batch1"), "SQLite WAL FULL", sq1),
  ("durable, batches of 100", bank.get("file.transfers.batch100"), "SQLite WAL FULL", sq100),
  ("durable, batches of 8190", bank.get("file.transfers.batch8190"), "SQLite WAL FULL", sq8190),
  ("single commits vs the disk", bank.get("file.concurrent1"), "fdatasync/s", bank.get("disk.fdatasync")),
  ("disk: append vs overwrite", bank.get("disk.fdatasync.append"), "overwrite", bank.get("disk.fdatasync.overwrite")),
  ("disk: append vs fallocated", bank.get("disk.fdatasync.append"), "fallocated", bank.get("disk.fdatasync.fallocated")),
  ("disk: fallocated vs fallocated+zeroed", bank.get("disk.fdatasync.fallocated"), "fallocated+zeroed", bank.get("disk.fdatasync.fallocated_zeroed")),
  ("disk: fallocated, fstat each write", bank.get("disk.fdatasync.fallocated_fstat"), "fallocated", bank.get("disk.fdatasync.fallocated")),
  ("single commits vs best preallocated", bank.get("file.concurrent1"), "best preallocated", max(bank.get("disk.fdatasync.overwrite") or 0, bank.get("disk.fdatasync.fallocated") or 0, bank.get("disk.fdatasync.fallocated_zeroed") or 0)),
  ("single commits vs SQLite", bank.get("file.concurrent1"), "SQLite WAL FULL", sq1),
  ("TPC-B-like, 1 client", bank.get("tpcb.durable.1client"), "pgbench -c1", pg1),
  ("16 callers (group commit)", bank.get("file.concurrent16"), "pgbench -c16", pg16),
  ("16 callers vs 1 caller", bank.get("file.concurrent16"), "BankCore 1 caller", bank.get("file.concurrent1")),
  ("64 callers vs 1 caller", bank.get("file.concurrent64"), "BankCore 1 caller", bank.get("file.concurrent1")),
  ("in memory, batches of 8190", bank.get("memory.transfers.batch8190"), "(target 5,000,000)", 5_000_000),
  ("durable, batches of 8190", bank.get("file.transfers.batch8190"), "(target 2,000,000)", 2_000_000),
]
print(f"{'workload':34} {'BankCore/s':>12}  {'peer':20} {'peer/s':>12}  ratio")
for name, ours, peer, theirs in rows:
    print(f"{name:34} {ours or 0:>12,.0f}  {peer:20} {theirs or 0:>12,.0f}  {ratio(ours, theirs)}")
print(f"open 1,000,000 transfers with snapshot: {1000 / bank['open.with_snapshot']:.1f} ms" if bank.get("open.with_snapshot") else "")
print(f"full replay: {bank.get('open.full_replay', 0):,.0f} records/s")
sha, sha_peer = bank.get("crypto.sha256"), bank.get("crypto.sha256.hashlib")
if sha and sha_peer:
    print(f"SHA-256: {sha:,.0f} MB/s, Python hashlib {sha_peer:,.0f} MB/s: {sha / sha_peer:.2f} of its throughput (target >= 0.25)")
pb, pb_peer = bank.get("crypto.pbkdf2"), bank.get("crypto.pbkdf2.hashlib")
if pb and pb_peer:
    print(f"PBKDF2-HMAC-SHA256, 600,000 iterations: {pb:,.0f} ms, Python hashlib {pb_peer:,.0f} ms: {pb / pb_peer:.2f}x its time (target <= 4x)")
PY
