#!/usr/bin/env bash
# Long simulation runs: Tools/simulate.sh --seeds N [--start S]   or   Tools/simulate.sh --seed S
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=3000; start=0; one=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --start) start="$2"; shift 2 ;;
    --seed) one="$2"; shift 2 ;;
    *) echo "usage: Tools/simulate.sh --seeds N [--start S] | --seed S" >&2; exit 64 ;;
  esac
done
if [ -n "$one" ]; then
  export BANKCORE_SIM_SEED="$one" BANKCORE_ATM_SIM_SEED="$one"
else
  # The ATM simulation (sessions, faults, crashes at every step of a withdrawal) runs a tenth as
  # many seeds: each is a whole bank with a terminal.
  export BANKCORE_SIM_SEEDS="$seeds" BANKCORE_SIM_START="$start" BANKCORE_ATM_SIM_SEEDS="$(( (seeds + 9) / 10 ))"
fi
# SimulationTests and ATMSimulationTests.
swift test --filter SimulationTests 2>&1 | grep -E "simulation|✘|↳ simulation|Test run with"
