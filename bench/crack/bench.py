"""Benchmark driver for bench/crack/run.sh (see bench/crack/README.md).

1. A deterministic 1,000,000-line wordlist without the key, and a Flask session cookie
   signed with a key that is not in it (so every candidate is tried).
2. ``python -m apigrade.crack COOKIE --wordlist W --no-builtin`` and
   ``flask-unsign --unsign --no-literal-eval --wordlist W --cookie COOKIE``, alternated.
3. The raw one-core cost of a candidate (two HMAC-SHA1) in a tight loop, and the same
   through apigrade's batch engine: the physical bound is that rate x cores.
4. Peak memory of apigrade on a 10,000,000-line list, sampled from /proc for the whole
   process tree (largest process RSS, sum of RSS, and sum of PSS which counts shared
   pages once).
"""

from __future__ import annotations

import argparse
import hmac
import os
import random
import re
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

KEY = "this-key-is-not-in-the-list"
ALPHABET = string.ascii_letters + string.digits + "-_!@#."


def wordlist(path: Path, lines: int, seed: int = 1) -> None:
    """Deterministic password-like lines, 6-16 characters, never equal to KEY."""
    rng = random.Random(seed)
    with path.open("w") as fh:
        block = 100_000
        for start in range(0, lines, block):
            n = min(block, lines - start)
            fh.write("\n".join("".join(rng.choices(ALPHABET, k=rng.randint(6, 16)))
                               for _ in range(n)))
            fh.write("\n")


def cookie() -> str:
    app = Flask("bench")
    app.secret_key = KEY
    ser = SecureCookieSessionInterface().get_signing_serializer(app)
    assert ser is not None
    return str(ser.dumps({"user_id": 42, "username": "alice", "_fresh": True}))


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user+sys of the whole process tree) and output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if out.returncode not in (0, 1):
        sys.exit(f"command failed ({out.returncode}): {cmd}\n{out.stdout}\n{out.stderr}")
    return took, cpu, out.stdout + out.stderr


def raw_rate(seconds: float = 1.0) -> float:
    """Candidates per CPU second on one core: hmac.digest twice per candidate, tight loop.
    CPU time, not wall time, so other load on a shared machine does not skew it."""
    salt, msg, want = b"cookie-session", b"eyJ1c2VyX2lkIjo0Mn0.aBcDeF", b"\0" * 20
    words = [b"cand%07d" % i for i in range(100_000)]
    digest = hmac.digest
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for w in words:
            if digest(digest(w, salt, "sha1"), msg, "sha1") == want:
                break
        done += len(words)
    return done / (time.process_time() - start)


def engine_rate(seconds: float = 1.0) -> float:
    """Candidates per CPU second on one core through apigrade's batch engine (no processes)."""
    from apigrade.crack.batch import find_in_chunk
    from apigrade.crack.schemes import flask_session_scheme

    scheme = flask_session_scheme(b"eyJ1c2VyX2lkIjo0Mn0.aBcDeF", b"\0" * 20)
    words = [b"cand%07d" % i for i in range(20_000)]
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        find_in_chunk([scheme], words)
        done += len(words)
    return done / (time.process_time() - start)


def _tree(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            kids += [int(k) for k in text.split()]
    except OSError:
        return [pid]
    return [pid] + [p for k in kids for p in _tree(k)]


def _kib(pid: int, path: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def peak_memory(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd``; sample its process tree every 20 ms. Values in MiB."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = {"largest_rss": 0.0, "sum_rss": 0.0, "sum_pss": 0.0, "processes": 0.0}
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    start = time.perf_counter()
    while proc.poll() is None:
        pids = _tree(proc.pid)
        rss = [_kib(p, "status", "VmRSS:") for p in pids]
        pss = sum(_kib(p, "smaps_rollup", "Pss:") for p in pids)
        peak["largest_rss"] = max(peak["largest_rss"], max(rss, default=0) / 1024)
        peak["sum_rss"] = max(peak["sum_rss"], sum(rss) / 1024)
        peak["sum_pss"] = max(peak["sum_pss"], pss / 1024)
        peak["processes"] = max(peak["processes"], len(pids))
        time.sleep(0.02)
    reader.join()
    peak["seconds"] = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"memory run failed: {b''.join(out).decode(errors='replace')}")
    return peak


def gnu_time_maxrss(cmd: list[str]) -> float | None:
    """Max RSS (MiB) that /usr/bin/time -v reports (the largest single process)."""
    if not Path("/usr/bin/time").exists():
        return None
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    return int(m.group(1)) / 1024 if m else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flask-unsign", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fu-rounds", type=int, default=2)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--big-lines", type=int, default=10_000_000)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="crack-bench-") as tmp:
        words = Path(tmp) / "words.txt"
        wordlist(words, args.lines)
        value = cookie()
        ours = [sys.executable, "-m", "apigrade.crack", value, "--wordlist", str(words),
                "--no-builtin"]
        theirs = [args.flask_unsign, "--unsign", "--no-literal-eval", "--wordlist", str(words),
                  "--cookie", value]
        print(f"{cores} cores, {args.lines:,} candidates, key not in the list")
        timed(ours)  # warm the page cache and imports
        a_times: list[float] = []
        b_times: list[float] = []
        a_cpu: list[float] = []
        b_cpu: list[float] = []
        raws: list[float] = []
        engs: list[float] = []
        of_raw: list[float] = []
        of_eng: list[float] = []
        for i in range(max(args.rounds, args.fu_rounds)):
            # Bounds measured next to each run: the machine is shared, load comes and goes.
            raw, eng = raw_rate(), engine_rate()
            raws.append(raw)
            engs.append(eng)
            if i < args.rounds:
                took, cpu, out = timed(ours)
                a_cpu.append(cpu)
                if f"No key found: {args.lines:,} candidates" not in out:
                    sys.exit(f"unexpected apigrade output:\n{out}")
                a_times.append(took)
                of_raw.append(args.lines / took / (raw * cores))
                of_eng.append(args.lines / took / (eng * cores))
                print(f"  apigrade      {took:6.2f} s wall {cpu:6.2f} s CPU  "
                      f"{args.lines / took:>10,.0f} cand/s  (one core, per CPU s: hmac.digest loop {raw:,.0f}/s, engine {eng:,.0f}/s)")
            if i < args.fu_rounds:
                took, cpu, out = timed(theirs)
                b_times.append(took)
                b_cpu.append(cpu)
                print(f"  flask-unsign  {took:6.2f} s wall {cpu:6.2f} s CPU  "
                      f"{args.lines / took:>10,.0f} cand/s")
        a, b = statistics.median(a_times), statistics.median(b_times)
        print(f"median wall: apigrade {a:.2f} s, flask-unsign {b:.2f} s -> {b / a:.1f}x faster")
        ac, bc = statistics.median(a_cpu), statistics.median(b_cpu)
        print(f"median CPU:  apigrade {ac:.2f} s, flask-unsign {bc:.2f} s -> {bc / ac:.1f}x less "
              f"CPU per candidate")
        raw, eng = statistics.median(raws), statistics.median(engs)
        print(f"one core, hmac.digest x2 tight loop: {raw:,.0f} cand/s (x{cores} = "
              f"{raw * cores:,.0f})")
        print(f"one core, apigrade batch engine:     {eng:,.0f} cand/s (x{cores} = "
              f"{eng * cores:,.0f})")
        print(f"apigrade end to end, incl. start-up: {args.lines / a:,.0f} cand/s = "
              f"{statistics.median(of_raw):.0%} of {cores} x hmac.digest loop, "
              f"{statistics.median(of_eng):.0%} of {cores} x engine (medians of per-round ratios)")
        # CPU view, insensitive to other load: engine CPU per candidate / apigrade's.
        print(f"CPU efficiency: {args.lines / eng / ac:.0%} (engine's one-core CPU cost / "
              f"apigrade's whole CPU cost) "
              f"({ac / args.lines * 1e6:.2f} us CPU per candidate incl. start-up, "
              f"engine {1e6 / eng:.2f} us, hmac.digest loop {1e6 / raw:.2f} us)")

        big = Path(tmp) / "big.txt"
        copies = max(1, args.big_lines // args.lines)
        base = words.read_bytes()
        with big.open("wb") as fh:  # 10 distinct copies of the 1M list: suffix 0..9
            for n in range(copies):
                fh.write(base.replace(b"\n", b"%d\n" % n))
        big_lines = copies * args.lines
        mib = big.stat().st_size / 2**20
        cmd = [sys.executable, "-m", "apigrade.crack", value, "--wordlist", str(big),
               "--no-builtin"]
        peak = peak_memory(cmd)
        print(f"{big_lines:,}-line list ({mib:.0f} MiB): {peak['seconds']:.1f} s, "
              f"{int(peak['processes'])} processes; peak largest process RSS "
              f"{peak['largest_rss']:.1f} MiB, sum RSS {peak['sum_rss']:.1f} MiB, "
              f"sum PSS {peak['sum_pss']:.1f} MiB")
        small = [*cmd[:-3], "--wordlist", str(words), "--no-builtin"]
        gt = gnu_time_maxrss(small)
        if gt is not None:
            print(f"/usr/bin/time -v max RSS, 1M-line run: {gt:.1f} MiB")


if __name__ == "__main__":
    main()
