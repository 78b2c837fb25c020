#!/usr/bin/env bash
# Builds the libFuzzer targets with -sanitize=fuzzer,address and runs each for a fixed time.
#   Tools/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
# Fails on any crash, leak, or hang (libFuzzer's -timeout). Prints executions per target.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
export SWIFT_BACKTRACE=enable=no
out=".build-fuzz"
mkdir -p "$out"
core=$(find Sources/BankCore -name '*.swift' | sort)
cli=$(find Sources/BankCLI -name '*.swift' ! -name main.swift | sort)
declare -A targets=(
  [frame]="Fuzz/FrameDecoderFuzz.swift"
  [snapshot]="Fuzz/SnapshotDecoderFuzz.swift"
  [amount]="Fuzz/AmountParserFuzz.swift"
  [cli]="Fuzz/CLIArgumentsFuzz.swift"
)
total=0
for name in frame snapshot amount cli; do
  extra=""
  [ "$name" = cli ] && extra="$cli"
  printf '== fuzz target %s: building\n' "$name"
  # shellcheck disable=SC2086
  swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name BankCore -package-name BankCore \
    -suppress-warnings \
    $core $extra "${targets[$name]}" -o "$out/fuzz-$name" 2>&1 | grep -v warning || true
  [ -x "$out/fuzz-$name" ] || { echo "build of fuzz-$name failed"; exit 1; }
  work="$out/corpus-$name"
  mkdir -p "$work"
  log="$out/fuzz-$name.log"
  if ! "$out/fuzz-$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$out/" \
    "$work" "Fuzz/corpus/$name" >"$log" 2>&1; then
    echo "fuzz target $name FAILED:"; tail -40 "$log"; exit 1
  fi
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  total=$((total + ${runs:-0}))
  printf '   %s: %s executions in %ss, no crash, leak or hang\n' "$name" "${runs:-?}" "$secs"
done
echo "fuzzing: $total executions in total"
