#!/usr/bin/env bash
# apigrade crack vs flask-unsign on the same Flask cookie and 1,000,000-line wordlist, the
# raw one-core HMAC rate, and peak memory on a 10,000,000-line list. No network but PyPI
# (flask-unsign is installed into its own venv on first use).
# Usage: bench/crack/run.sh [ROUNDS]     env: PYTHON (default python3), FU_VENV (/tmp/fu-venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py="${PYTHON:-python3}"
fu="${FU_VENV:-/tmp/fu-venv}"
if [ ! -x "$fu/bin/flask-unsign" ]; then
  "$py" -m venv "$fu"
  "$fu/bin/pip" install -q flask-unsign
fi
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$py" "$here/bench.py" --flask-unsign "$fu/bin/flask-unsign" --rounds "${1:-3}"
