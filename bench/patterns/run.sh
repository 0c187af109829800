#!/bin/sh
# Pattern benchmarks: hostile bodies through every registered pattern, the JWT case before
# (Python re) and after (RE2), and full in-process scans of the previous commit against the
# working tree, alternated A B A B. Usage: bench/patterns/run.sh [ROUNDS]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY="$ROOT/.venv/bin/python"
ROUNDS=${1:-3}
BEFORE=$(mktemp -d)
trap 'rm -rf "$BEFORE"' EXIT
git -C "$ROOT" archive "${BASE:-3c56e3a}" src | tar -x -C "$BEFORE"
for app in demo flask-bench; do
  for _ in $(seq "$ROUNDS"); do
    printf 'before '; PYTHONPATH="$BEFORE/src" "$PY" "$ROOT/bench/patterns/scan_speed.py" --app "$app"
    printf 'after  '; PYTHONPATH="$ROOT/src" "$PY" "$ROOT/bench/patterns/scan_speed.py" --app "$app"
  done
done
"$PY" "$ROOT/bench/patterns/bench.py"
