#!/bin/sh
# Resolve and evaluate the fixed data sets against the membergraph tree on PYTHONPATH.
# usage: PYTHONPATH=<tree> [FOREIGN6_DATA=DIR] [FOREIGN6_RESULTS=DIR] sh run_all.sh <label> [v1 v2]
# Data sets are read from $FOREIGN6_DATA (default: ./data beside this script).
set -e
label=$1; shift
versions=${*:-v1 v2}
here=$(cd "$(dirname "$0")" && pwd)
data=${FOREIGN6_DATA:-$here/data}
results=${FOREIGN6_RESULTS:-$here/results}
mkdir -p "$results/$label"
for v in $versions; do
  for d in $v-p5000-s1 $v-p5000-s2 $v-p20000-s1; do
    nice -n 5 python "$here/evaluate.py" --data "$data/$d" --run \
      --out-json "$results/$label/$d.json" --out-md "$results/$label/$d.md" \
      > "$results/$label/$d.log" 2>&1
  done
done
