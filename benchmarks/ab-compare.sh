#!/usr/bin/env bash
# A/B comparison of two builds of the Tidewire tool on one machine in one session: runs
# `compare` with the same arguments through jar A and jar B alternately (A B A B ...), so that
# drift in the machine's load falls on both sides, and prints each run's results table and
# issue 10 ratios. The full output of every run is kept in a temporary directory.
#
# usage: benchmarks/ab-compare.sh [-n ROUNDS] A.jar B.jar [compare arguments...]
#   -n ROUNDS   pairs of runs (default 2: A B A B)
#   JAVA=...    the java executable (default: java on the PATH), e.g. a JDK 25 for the
#               tidewire-blocking-vt row
# example:
#   benchmarks/ab-compare.sh baseline/tidewire-tool.jar benchmarks/target/tidewire-tool.jar \
#       --callers 64,256 --seconds 5 --systems tidewire-async,tidewire-async-tls,grpc-async-direct-1ch-tls
set -euo pipefail

rounds=2
if [[ "${1:-}" == "-n" ]]; then
  rounds="$2"
  shift 2
fi
if [[ $# -lt 2 ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
jar_a="$1"
jar_b="$2"
shift 2
for j in "$jar_a" "$jar_b"; do
  [[ -f "$j" ]] || { echo "error: no such jar: $j" >&2; exit 2; }
done
java="${JAVA:-java}"
out_dir="$(mktemp -d -t tidewire-ab-XXXXXX)"

echo "A = $jar_a ($(sha256sum "$jar_a" | cut -c1-12))"
echo "B = $jar_b ($(sha256sum "$jar_b" | cut -c1-12))"
echo "java: $("$java" -version 2>&1 | head -1); arguments: compare $*"
echo "started $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg); full outputs in $out_dir"

status=0
run=0
for ((i = 1; i <= rounds; i++)); do
  for side in A B; do
    run=$((run + 1))
    jar="$jar_a"
    [[ "$side" == B ]] && jar="$jar_b"
    log="$out_dir/run$run-$side.txt"
    echo
    echo "=== run $run: $side, $(date -u +%T) UTC, load average $(cut -d' ' -f1 /proc/loadavg) ==="
    if ! "$java" -jar "$jar" compare "$@" --json "$out_dir/run$run-$side.json" >"$log" 2>&1; then
      echo "(exit code non-zero: see $log)"
      status=1
    fi
    # the results table, and the issue 10 ratios if any
    sed -n '/^results (throughput/,/^$/p' "$log"
    sed -n '/^issue 10 ratios/,/^wrote /p' "$log" | grep -v '^wrote ' || true
  done
done
echo
echo "finished $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg); full outputs in $out_dir"
exit $status
