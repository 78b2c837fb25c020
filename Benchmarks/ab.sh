#!/bin/bash
# Alternates two release bankbench binaries (OLD, NEW) on the given filters, ROUNDS times, and
# prints "old|new round benchmark value" lines, so that ratios are taken per alternated pair on a
# VM whose speed moves within minutes.
#   OLD=/path/to/old/bankbench NEW=.build/release/bankbench Benchmarks/ab.sh "memory.transfers" 3
OLD=${OLD:?set OLD to the baseline bankbench}; NEW=${NEW:-.build/release/bankbench}
ROUNDS=${2:-3}
for r in $(seq "$ROUNDS"); do
  for which in old new; do
    B=$OLD; [ "$which" = new ] && B=$NEW
    "$B" $1 2>/dev/null | tail -n +2 | awk -v w="$which" -v r="$r" '{print w, r, $1, $2}'
  done
done
