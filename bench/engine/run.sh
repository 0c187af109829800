#!/usr/bin/env bash
# Engine throughput vs a bare httpx.AsyncClient loop, same server, same concurrency, side by side.
# Usage: bench/engine/run.sh [N] [CONCURRENCY] [ROUNDS]   (needs the project installed: pip install -e .)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
n="${1:-5000}"; c="${2:-10}"; rounds="${3:-5}"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$py" "$here/server.py" "$port" & srv=$!
trap 'kill $srv 2>/dev/null' EXIT
sleep 0.5
url="http://127.0.0.1:$port/"
for i in $(seq "$rounds"); do
  "$py" "$here/client.py" engine "$url" "$n" "$c"
  "$py" "$here/client.py" bare "$url" "$n" "$c"
done
