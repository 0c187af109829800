#!/usr/bin/env bash
# Default scan of a 20-endpoint API that publishes an OpenAPI document: wall time and
# requests counted at the server. Target: under 10 s and 1,000 requests.
# Usage: bench/api/run.sh [ROUNDS]   (needs the project installed: pip install -e .)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${PYTHON:-python3}"
rounds="${1:-5}"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$py" "$here/target_api.py" "$port" >/dev/null 2>&1 & srv=$!
trap 'kill $srv 2>/dev/null' EXIT
url="http://127.0.0.1:$port/"
for _ in $(seq 50); do "$py" -c "import urllib.request; urllib.request.urlopen('$url')" 2>/dev/null && break; sleep 0.1; done
out="$(mktemp -d)"
for i in $(seq "$rounds"); do
  before=$("$py" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('${url}__bench_count'))['count'])")
  start=$("$py" -c 'import time; print(time.perf_counter())')
  "$py" -m apigrade scan "$url" --no-store -f json -o "$out/r$i.json" 2>/dev/null || true
  end=$("$py" -c 'import time; print(time.perf_counter())')
  after=$("$py" -c "import json,urllib.request; print(json.load(urllib.request.urlopen('${url}__bench_count'))['count'])")
  "$py" - "$out/r$i.json" "$start" "$end" "$before" "$after" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wall = float(sys.argv[3]) - float(sys.argv[2])
served = int(sys.argv[5]) - int(sys.argv[4])
print(f"wall {wall:.2f} s, requests at server {served} (report: {r['requests_sent']}), "
      f"grade {r['grade']} {r['score']}, {len(r['findings'])} findings")
PY
done
