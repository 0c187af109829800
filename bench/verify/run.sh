#!/usr/bin/env bash
# apigrade verify after fixing the demo target vs a full scan: requests and wall time.
# Servers run on 127.0.0.1 inside the driver and stop with it; the history is a temp SQLite.
# Usage: bench/verify/run.sh [ROUNDS]     env: PYTHON (default python3, with apigrade installed)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${PYTHON:-python3}"
export PYTHONPATH="$root/src:$here${PYTHONPATH:+:$PYTHONPATH}"
exec "$py" "$here/bench.py" --rounds "${1:-3}"
