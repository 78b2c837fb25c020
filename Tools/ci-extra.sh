#!/usr/bin/env bash
# The checks .ci/run adds beyond `swift test`: sanitizers, fuzzing, the simulator at CI scale,
# and the bankctl speed check on a store of 1,000,000 transfers.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s (%s)\n' "$*" "$(date +%T)"; }

step "ThreadSanitizer: the concurrency suites"
swift test --sanitize=thread --scratch-path .build-tsan \
  --filter "ConcurrencyTests|groupCommit|twoProcesses|LedgerTests|StorageConformance|FileStorageTests|SharedStoreTests|SharedProcessTests|AsyncDurabilityTests|CombinedCommitTests" 2>&1 \
  | tee /tmp/bankcore-tsan.log | grep -E "ThreadSanitizer|✘|Test run with" || true
if grep -q "WARNING: ThreadSanitizer" /tmp/bankcore-tsan.log || ! grep -qE "✔ Test run with" /tmp/bankcore-tsan.log; then
  echo "ThreadSanitizer run failed"; exit 1
fi

step "AddressSanitizer: the whole suite"
LSAN_OPTIONS="suppressions=$PWD/Tools/lsan.supp" BANKCORE_SIM_SEEDS=300 \
  swift test --sanitize=address --scratch-path .build-asan 2>&1 \
  | tee /tmp/bankcore-asan.log | grep -E "AddressSanitizer|LeakSanitizer|✘|Test run with" || true
if grep -qE "ERROR: (Address|Leak)Sanitizer" /tmp/bankcore-asan.log || ! grep -qE "✔ Test run with" /tmp/bankcore-asan.log; then
  echo "AddressSanitizer run failed"; exit 1
fi

step "Readers beside a writer: 3,000 reader runs while a writer process deposits (zero failures)"
BANKCORE_READER_ITERATIONS=3000 swift test --skip-build --filter "Hardening2Tests.readersBesideAWriterNeverFail" \
  >/tmp/bankcore-readers.log 2>&1 || true
grep -E "✘|✔ Test run" /tmp/bankcore-readers.log | cut -c1-400 || true
if ! grep -qE "✔ Test run with 1 test" /tmp/bankcore-readers.log; then echo "readers beside a writer failed"; exit 1; fi

step "A real I/O error: a failed sync on a loop device, a retry with the same key, a remount"
bash Tools/eio-loop-test.sh .build/debug/bankctl

step "Fuzzing: each libFuzzer target for ${FUZZ_SECONDS:-40} s"
Tools/fuzz.sh "${FUZZ_SECONDS:-40}"

step "bankctl balance, history and a statement of 10,000 entries on 1,000,000 transfers, balance on 1,000,000 keyed transfers (each under 100 ms)"
swift build -c release --product bankctl >/dev/null
swift build -c release --product bankbench >/dev/null
store="$PWD/.bench-tmp/ci-1m.journal"
keyed="$PWD/.bench-tmp/ci-1m-keyed.journal"
mkdir -p .bench-tmp
.build/release/bankbench --make-store "$store" --open-transfers 1000000 2>/dev/null
.build/release/bankbench --make-store "$keyed" --open-transfers 1000000 --keyed 2>/dev/null
python3 - "$store" "$keyed" <<'PY'
import subprocess, sys, time, statistics
store, keyed = sys.argv[1], sys.argv[2]
def check(label, args):
    times = []
    for _ in range(7):
        t = time.perf_counter()
        r = subprocess.run([".build/release/bankctl"] + args, capture_output=True)
        times.append((time.perf_counter() - t) * 1000)
        assert r.returncode == 0, r.stderr
    median = statistics.median(times)
    print(f"{label}: median {median:.1f} ms (min {min(times):.1f}, max {max(times):.1f}) over 7 runs")
    return median < 100
ok = check("bankctl balance, 1,000,000 transfers", ["--store", store, "--json", "balance", "1000-0001-7"])
ok &= check("bankctl history --limit 10, 1,000,000 transfers", ["--store", store, "--json", "history", "1000-0001-7", "--limit", "10"])
ok &= check("bankctl balance, 1,000,000 keyed transfers", ["--store", keyed, "--json", "balance", "1000-0001-7"])
month = time.strftime("%Y-%m", time.gmtime())
ok &= check("bankctl statement of this month, 10,000 entries, 1,000,000 transfers", ["--store", store, "--json", "statement", "1000-0001-7", "--month", month])
sys.exit(0 if ok else 1)
PY
rm -f "$store" "$store.snapshot" "$store.offsets" "$keyed" "$keyed.snapshot" "$keyed.offsets"
