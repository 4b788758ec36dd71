#!/usr/bin/env bash
# Interleaved `load` runs of several configurations (jar + flags) on one machine in one session:
# every round runs each configuration once, the order rotated by one each round, so that drift in
# the machine's load falls on all of them. Prints one line per run (throughput, the median of the
# per-second throughputs of the measurement window, p50/p99, load average), and, with CPU=1, the
# JVM's CPU time per call in the measurement window (JFR jdk.CPULoad, 1 s samples). Every run's
# output and JSON are kept in OUTDIR. Used for docs/benchmarks.md section 13.
#
# usage: benchmarks/ab-load.sh OUTDIR ROUNDS 'LABEL|JAR|LOAD FLAGS' ['LABEL|JAR|LOAD FLAGS' ...]
#   COMMON='...'  flags of every run (default: --api async --callers 64 --connections 4
#                 --seconds 6 --warmup-seconds 12)
#   CPU=1         also record the JVM's CPU load with JFR and print CPU time per call
#   JAVA=...      the java executable (default: java on the PATH)
# example:
#   benchmarks/ab-load.sh /tmp/md 5 'nomd|tool.jar|' \
#       'tp|tool.jar|--metadata traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
set -uo pipefail

if [[ $# -lt 3 ]]; then
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
out="$1"
rounds="$2"
shift 2
configs=("$@")
n=${#configs[@]}
java="${JAVA:-java}"
common="${COMMON:---api async --callers 64 --connections 4 --seconds 6 --warmup-seconds 12}"
mkdir -p "$out"
jfc="$out/cpu.jfc"
cat > "$jfc" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<configuration version="2.0" label="cpu" description="JVM and machine CPU load only">
  <event name="jdk.CPULoad"><setting name="enabled">true</setting><setting name="period">1 s</setting></event>
</configuration>
EOF
warmup=$(sed -nE 's/.*--warmup-seconds[ =]([0-9]+).*/\1/p' <<< "$common")
seconds=$(sed -nE 's/.*--seconds[ =]([0-9]+).*/\1/p' <<< "$common")

echo "common: $common; started $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < n; i++)); do
    IFS='|' read -r label jar flags <<< "${configs[$(((i + r - 1) % n))]}"
    base="$out/r$r-$label"
    jfr=()
    if [[ "${CPU:-0}" == 1 ]]; then
      # the measurement window, less a second at each end
      jfr=("-XX:StartFlightRecording=filename=$base.jfr,settings=$jfc,delay=$((${warmup:-2} + 1))s,duration=$((${seconds:-10} - 1))s")
    fi
    # shellcheck disable=SC2086 # the flags are words
    if ! "$java" "${jfr[@]}" -jar "$jar" load $common $flags --json "$base.json" > "$base.txt" 2> "$base.err"; then
      status=1
    fi
    if [[ -f "$base.jfr" ]]; then
      jfr print --events jdk.CPULoad "$base.jfr" > "$base.cpu.txt" 2> /dev/null || true
    fi
    python3 - "$base" "$label" "$r" <<'PY'
import json, re, statistics, sys, os
base, label, r = sys.argv[1:]
try:
    j = json.load(open(base + '.json'))
except (OSError, ValueError):
    print('round %s %-12s FAILED (see %s.err)' % (r, label, base)); sys.exit(0)
run = j['runs'][0]
per_second = [int(m.group(1).replace(',', '')) for line in open(base + '.txt')
              if re.match(r'^K=.* s  ', line) and 'warm-up' not in line
              for m in [re.search(r' s +([\d,]+) calls/s', line)] if m]
line = 'round %s %-12s %9.0f calls/s  per-second median %9.0f  p50 %.3f ms  p99 %.3f ms  errors %d  load %s->%s' % (
    r, label, run['throughput'], statistics.median(per_second) if per_second else float('nan'),
    run['latencyMs']['p50'], run['latencyMs']['p99'], run['errorCount'],
    j['machine'].get('loadAverage1m'), j['machine'].get('loadAverage1mAtEnd'))
if os.path.exists(base + '.cpu.txt'):
    samples = re.findall(r'jvmUser = ([\d.]+)%\s+jvmSystem = ([\d.]+)%\s+machineTotal = ([\d.]+)%',
                         open(base + '.cpu.txt').read())
    samples = [s for s in samples if float(s[2]) > 0]  # the first sample of a recording is all zeros
    if samples:
        cores = os.cpu_count() * statistics.mean(float(u) + float(k) for u, k, _ in samples) / 100
        machine = statistics.mean(float(m) for _, _, m in samples)
        line += '  JVM %.2f cores (machine %.0f %%), %.2f us CPU/call' % (cores, machine, cores / run['throughput'] * 1e6)
print(line)
PY
  done
done
echo "finished $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg); outputs in $out"
exit $status
