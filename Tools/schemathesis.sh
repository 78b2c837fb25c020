#!/usr/bin/env bash
# The OpenAPI document against a running bankd: schemathesis generates requests from
# GET /openapi.yaml with a valid manager session and checks that no response is a 5xx and that
# every response conforms to the document. It counts the requests and wants at least 2,000.
#   Tools/schemathesis.sh PATH_TO_BANKD [MAX_EXAMPLES]
set -euo pipefail
bankd="$1"
examples="${2:-120}"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bankd" --store "$work/bank.journal" --demo --port 0 --event-port 0 --log-level error >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 600); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.1; done
base=$(grep -o 'http://[^ ]*' "$work/out")
token=$(curl -sf -X POST "$base/v1/sessions" -H 'Content-Type: application/json' \
  -d '{"staff":"mark","password":"approvals desk 2026 green"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')
# Left out: the event stream (it never ends) and logging out (it would end the session the
# rest of the run uses).
set +e
python3 -m schemathesis.cli run "$base/openapi.yaml" --header "Authorization: Bearer $token" \
  --max-examples "$examples" --seed 20261207 --workers 1 --request-timeout 30 \
  --exclude-path /v1/events --exclude-path /v1/sessions/current \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --report ndjson --report-ndjson-path "$work/events.ndjson" 2>&1 | tee "$work/st.log" | tail -n 60
rc=${PIPESTATUS[0]}
set -e
cp "$work/st.log" /tmp/schemathesis-last.log
# Each response the run received is one "response" object in the NDJSON report.
requests=$(grep -o '"response": *{' "$work/events.ndjson" 2>/dev/null | wc -l || true)
echo "schemathesis: $requests requests (recorded in the report)"
kill -TERM "$pid"; wait "$pid" || true
if [ "$rc" -ne 0 ]; then echo "schemathesis found failures"; exit "$rc"; fi
if [ "$requests" -lt 2000 ]; then echo "fewer than 2,000 requests"; exit 1; fi
