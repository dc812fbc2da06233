#!/bin/sh
# Re-evaluate existing answers of a results folder with the current evaluator (no resolve).
# usage: sh reeval.sh RESULTS_DIR DATA_DIR
for a in "$1"/*.answer.jsonl; do
  d=$(basename "$a" .answer.jsonl)
  python "$(dirname "$0")/evaluate.py" --data "$2/$d" --answer "$a" \
    --out-json "$1/$d.json" --out-md "$1/$d.md" > /dev/null
done
