#!/usr/bin/env bash
# Determinism check: `npm test` RUNS times in a row (default 10), the last BUSY of them (default 2) with one `yes`
# process per CPU keeping every CPU busy. Stops at the first failure. Logs go to $OUT (default a new temp directory):
# summary.log (one line per run), run-N.log (the whole output), under-load.log (the line test/faults/under-load.test.ts
# prints). Exit status 0 when every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
BUSY=${BUSY:-2}
OUT=${OUT:-$(mktemp -d -t mesh-webhook-repeat.XXXXXX)}
mkdir -p "$OUT"
echo "logs in $OUT"
burners=()
stop_burners() { [ ${#burners[@]} -gt 0 ] && kill "${burners[@]}" 2>/dev/null || true; burners=(); }
trap stop_burners EXIT
for i in $(seq 1 "$RUNS"); do
  label="run $i"
  if [ "$i" -gt $((RUNS - BUSY)) ]; then
    for _ in $(seq 1 "$(nproc)"); do yes >/dev/null & burners+=($!); done
    label="$label (all CPUs busy)"
  fi
  start=$(date +%s)
  rc=0
  npm test >"$OUT/run-$i.log" 2>&1 || rc=$?
  stop_burners
  tests=$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/run-$i.log" | grep -E '^\s+Tests ' | tail -1 | sed 's/^ *//' || true)
  echo "$label: exit $rc, $(($(date +%s) - start)) s, $tests" | tee -a "$OUT/summary.log"
  grep 'faults under load:' "$OUT/run-$i.log" | sed "s/^/$label: /" >>"$OUT/under-load.log" || true
  if [ "$rc" -ne 0 ]; then echo "stopped: run $i failed (see $OUT/run-$i.log)" | tee -a "$OUT/summary.log"; exit 1; fi
done
echo "$RUNS of $RUNS passed" | tee -a "$OUT/summary.log"
