#!/usr/bin/env bash
# The flow inspector with 10,000 flows recorded (BENCHMARKS.md, issue 13): starts a release
# `helseid-testbed up` on a fresh data directory, records 10,000 system-token flows with
# helseid-bench (each is the DPoP nonce round trip: two exchanges, one flow), then times the
# pages with curl (whole request on loopback) and prints the medians.
#
#   cargo build --release -p helseid-testbed -p helseid-bench && bench/flows.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${TARGET_DIR:-target/release}
flows=${FLOWS:-10000}
samples=${SAMPLES:-101}
port=${PORT:-8731}
dir=$(mktemp -d)
"$bin/helseid-testbed" up --port "$port" --data-dir "$dir" >"$dir/up.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
until curl -sf "$base/.well-known/openid-configuration" >/dev/null; do sleep 0.2; done
"$bin/helseid-bench" --issuer "$base" --client "$dir/demo-client.json" \
  --tokens "$flows" --runs 1 --warmup 1 --concurrency 4 >"$dir/bench.txt"
median() { sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)] * 1000}'; }
time_page() {
  for _ in $(seq 1 "$samples"); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done | median
}
total=$(curl -s "$base/flows" | grep -o '[0-9]*–[0-9]* av [0-9]*' | head -1)
first_flow=$(curl -s "$base/flows" | grep -o 'href="/flows/[0-9]*"' | head -1 | grep -o '[0-9]*')
echo "recorded: $total flows (pager of /flows)"
echo "GET /flows (newest 25):            $(time_page "$base/flows") ms median of $samples"
echo "GET /flows?offset=9975 (oldest 25): $(time_page "$base/flows?offset=9975") ms median of $samples"
echo "GET /flows?client=<demo> (25):     $(time_page "$base/flows?client=$(grep -o '"clientId": *"[^"]*"' "$dir/demo-client.json" | cut -d'"' -f4)") ms median of $samples"
echo "GET /flows/$first_flow (one flow):       $(time_page "$base/flows/$first_flow") ms median of $samples"
echo "server RSS: $(awk '/VmRSS/ {print $2 " kB"}' /proc/$pid/status)"
