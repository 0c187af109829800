#!/usr/bin/env bash
# apigrade vs wapiti 3.2.3 on the same misconfigured Flask app (target_app.py), side by side:
# wall time, requests counted at the server, findings mapped onto the seeded problems.
# Only 127.0.0.1 is ever contacted; wapiti is installed from PyPI into its own venv when
# missing (it pins old dependencies).
# Usage: bench/flask/run.sh [ROUNDS] [WAPITI_ROUNDS] [more run.py options, e.g. --no-extra]
# env: PYTHON (an interpreter with the project installed; default /tmp/v/bin/python, else
#      python3), WAPITI_VENV (default /tmp/wapiti-venv), VENV_PYTHON (python3: for a new venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  if [ -x /tmp/v/bin/python ]; then py=/tmp/v/bin/python; else py=python3; fi
fi
rounds="${1:-5}"; wrounds="${2:-3}"
shift $(( $# < 2 ? $# : 2 ))
exec "$py" "$here/run.py" --rounds "$rounds" --wapiti-rounds "$wrounds" \
  --wapiti-venv "${WAPITI_VENV:-/tmp/wapiti-venv}" --venv-python "${VENV_PYTHON:-python3}" "$@"
