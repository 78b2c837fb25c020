#!/usr/bin/env bash
# A longer soak: Tools/soak.sh [SECONDS] [PROCESSES]   (defaults 60 s, 4 processes, 4 threads each)
set -euo pipefail
cd "$(dirname "$0")/.."
BANKCORE_SOAK_SECONDS="${1:-60}" BANKCORE_SOAK_PROCESSES="${2:-4}" swift test --filter SoakTests 2>&1 \
  | grep -E "soak:|✘|Test run with"
