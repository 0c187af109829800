"""apigrade vs wapiti, side by side, on the same misconfigured Flask app (target_app.py).

For every round the target's request counter is reset, one scanner runs as a subprocess
with its default options, and the bench records the wall time (``time.perf_counter``
around the whole process, start-up included), the CPU time of the process, the number
of requests the *server* answered, and the findings of the tool's JSON report, mapped
onto the problems seeded in the app. Rounds alternate A B A B; medians are quoted. One
more wapiti run adds its opt-in modules that could matter here (WAPITI_EXTRA_MODULES).

Nothing leaves 127.0.0.1: the target listens there, both scanners only get its URL,
wapiti's out-of-band endpoint (default: a host on the internet, used by its ssrf / xxe
modules to fetch results) is pointed at a closed loopback port, its log4shell DNS
endpoint (resolved at start-up even when the module is off) is given as 127.0.0.1, and
its automatic bug reports are switched off (``--no-bugreport``).

Usage: python run.py [--rounds 5] [--wapiti-rounds 3] [--no-extra] [--out DIR]
(``run.sh`` picks the interpreter and the wapiti venv, creating it when missing.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import secrets
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from target_app import SEEDED  # noqa: E402

WAPITI_VERSION = "3.2.3"
#: The one "extra" wapiti run: its default modules (``common``, wapitiCore/attack/attack.py
#: ``common_modules``: cookieflags csp exec file http_headers permanentxss redirect sql ssl
#: ssrf upload xss) plus the opt-in ones that could see this app's problems and need no
#: download: backup copies of crawled files, directory brute force (buster), .htaccess
#: bypass, HTTP methods. nikto, wapp and htp are left out: they download their databases
#: from the internet on first use, which this bench must not do (and ``-m all`` would too).
WAPITI_EXTRA_MODULES = "common,backup,buster,htaccess,methods"
#: files seeded in the app: did the tool even ask for them?
PROBE_PATHS = ("/static/.env", "/.env", "/static/config.py", "/config.py", "/console",
               "/_debug_toolbar/static/css/toolbar.css")  # fmt: skip
DEBUGGER_RESOURCE = "__debugger__=yes&cmd=resource"


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback_env() -> dict[str, str]:
    """The environment for the scanners, without proxy settings: traffic stays on 127.x."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,127.0.0.0/8"
    return env


def cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """Stop a process we started (and its children: it leads its own session)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Run:
    """One timed scanner process."""

    tool: str
    label: str
    command: list[str]
    wall_s: float = 0.0
    cpu_s: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    requests_server: int = 0
    requests_tool: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    detected: dict[str, str] = field(default_factory=dict)
    probed: dict[str, bool] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    load_1m: float = 0.0  # the machine's load average when the run started


def timed(
    cmd: list[str], log: Path, timeout: float, cwd: Path
) -> tuple[float, float, int | None, bool]:
    """Run ``cmd``; wall and CPU seconds, exit code, whether it had to be killed."""
    cpu0 = cpu_children()
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=cwd, env=loopback_env(), start_new_session=True)  # fmt: skip
        try:
            code: int | None = proc.wait(timeout=timeout)
            killed = False
        except subprocess.TimeoutExpired:
            kill_group(proc)
            code, killed = proc.returncode, True
        wall = time.perf_counter() - t0
    return wall, cpu_children() - cpu0, code, killed


class Target:
    """target_app.py in its own process, with the bench's secret control paths."""

    def __init__(self, python: str, toolbar: bool, workdir: Path, host: str = "127.0.0.1") -> None:
        self.token = secrets.token_hex(12)
        cmd = [python, str(HERE / "target_app.py"), "--token", self.token, "--host", host]
        if toolbar:
            cmd.append("--toolbar")
        self.stderr = (workdir / "target.stderr").open("wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, env=loopback_env(),
                                     start_new_session=True)  # fmt: skip
        self.url = self._wait_ready(20.0)

    def _wait_ready(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    break
                line += chunk
        text = line.decode().strip()
        if not text.startswith("READY http://127."):
            self.stop()
            raise RuntimeError(f"target did not start: {text!r} (see target.stderr)")
        return text.split()[1]

    def _control(self, action: str) -> dict[str, Any]:
        url = f"{self.url}__bench_{self.token}/{action}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        with opener.open(url, timeout=10) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self._control("reset")

    def count(self) -> dict[str, Any]:
        return self._control("count")

    def stop(self) -> None:
        kill_group(self.proc)
        self.stderr.close()


# -- mapping findings onto the seeded problems -------------------------------------------

YES, PARTIAL, NO = "yes", "partial", "no"


def _mark(out: dict[str, str], key: str, status: str, why: str) -> None:
    rank = {NO: 0, PARTIAL: 1, YES: 2}
    old = out.get(key, NO)
    if rank[status] > rank[old.split(":")[0]]:
        out[key] = f"{status}: {why}"


def apigrade_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": f["check_id"],
            "severity": f["severity"],
            "url": f["url"],
            "parameter": f.get("parameter"),
            "evidence": (f.get("evidence") or "")[:2000],
        }
        for f in report.get("findings", [])
    ]


def apigrade_detect(findings: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in findings:
        cid, sev, ev = f["id"], f["severity"], f["evidence"]
        tag = f"{cid} ({sev})"
        if cid in ("flask.werkzeug-debugger", "flask.werkzeug-console-unlocked"):
            _mark(out, "debugger", YES, tag)
            if "interactive console: reachable" in ev:
                locked = "PIN-locked" if "locked by PIN" in ev else "no PIN"
                if "restricted to trusted hosts" in ev:
                    locked += ", host-restricted (found as Host: localhost)"
                _mark(out, "console", YES, f"{tag}, {locked}")
        elif cid == "flask.werkzeug-traceback":
            _mark(out, "traceback", YES, tag)
        elif cid == "files.dotenv":
            _mark(out, "dotenv", YES, tag)
        elif cid == "files.python-config":
            _mark(out, "config", YES, tag)
        elif cid == "auth.weak-signing-key":
            _mark(out, "weak_key", YES, tag)
        elif cid == "cookie.missing-httponly":
            _mark(out, "cookie", YES, tag)
        elif cid == "session.readable-contents":
            _mark(out, "session", YES, tag)
        elif cid == "ssti.template-injection" and "/hello" in f["url"]:
            _mark(out, "ssti", YES, tag)
        elif cid.startswith("traversal.") and "/download" in f["url"]:
            _mark(out, "traversal", YES, tag)
        elif cid in ("banner.version-disclosure", "flask.werkzeug-dev-server",
                     "flask.werkzeug-vulnerable-version"):  # fmt: skip
            _mark(out, "banner", YES, tag)
        elif cid.startswith("flask.debug-toolbar"):
            _mark(out, "toolbar", YES, tag)
    return out


def wapiti_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for section in ("vulnerabilities", "anomalies", "additionals"):
        for category, items in (report.get(section) or {}).items():
            for it in items:
                out.append(
                    {
                        "section": section,
                        "category": category,
                        "level": it.get("level"),
                        "module": it.get("module"),
                        "method": it.get("method"),
                        "path": it.get("path"),
                        "parameter": it.get("parameter"),
                        "info": (it.get("info") or "")[:300],
                    }
                )
    return out


def wapiti_detect(findings: list[dict[str, Any]]) -> dict[str, str]:
    """Generous on purpose: any wapiti item that names the problem counts.

    Items that only list a path that answered (buster's "Found webpage") count as partial;
    "HTTP Methods" items (OPTIONS answered on every crawled path) never count.
    """
    out: dict[str, str] = {}
    for f in findings:
        cat, path, info = f["category"], f["path"] or "", f["info"].lower()
        if cat == "HTTP Methods":
            continue
        text = f"{path.lower()} {info}"
        tag = f"{cat} ({f['section']}, level {f['level']}, {f['module']})"
        seen = PARTIAL if "found webpage" in info else YES
        listed = f"{tag}: listed as a page that answers" if seen == PARTIAL else tag
        if "__debugger__" in text or ("werkzeug" in info and "debug" in info):
            _mark(out, "debugger", YES, tag)
        if "/console" in text:
            _mark(out, "console", seen, listed)
        if cat == "Internal Server Error" and path.startswith("/api/items"):
            _mark(out, "traceback", PARTIAL, f"{tag}: a 500, not recognised as the debugger")
        if ".env" in text:
            _mark(out, "dotenv", seen, listed)
        if "config.py" in text:
            _mark(out, "config", seen, listed)
        if "secret_key" in info or "secret key" in info:
            _mark(out, "weak_key", YES, tag)
        if "httponly" in cat.lower():
            _mark(out, "cookie", YES, tag)
        if path.startswith("/hello"):
            if "template" in cat.lower() or "ssti" in cat.lower():
                _mark(out, "ssti", YES, tag)
            elif "cross site scripting" in cat.lower():
                _mark(out, "ssti", PARTIAL, f"{tag}: the injection, reported as XSS")
        if path.startswith("/download") and "traversal" in cat.lower():
            _mark(out, "traversal", YES, tag)
        if "werkzeug" in info:
            _mark(out, "banner", YES, tag)
        if "toolbar" in info:
            _mark(out, "toolbar", seen, listed)
    return out


def probed(log: Iterable[list[Any]]) -> tuple[dict[str, bool], dict[str, int]]:
    """Which seeded paths the tool asked for; status codes of all its requests."""
    targets = [str(entry[1]) for entry in log]
    seen = {p: any(t == p or t.startswith(p + "?") for t in targets) for p in PROBE_PATHS}
    seen["debugger resource"] = any(DEBUGGER_RESOURCE in t for t in targets)
    statuses: dict[str, int] = {}
    for entry in log:
        key = str(entry[2])
        statuses[key] = statuses.get(key, 0) + 1
    return seen, dict(sorted(statuses.items()))


# -- the two tools -----------------------------------------------------------------------


def measure(run: Run, target: Target, work: Path, label: str, timeout: float) -> None:
    """Run ``run.command`` once: time it, and count what the target saw."""
    target.reset()
    run.wall_s, run.cpu_s, run.exit_code, run.timed_out = timed(
        run.command, work / f"{label}.log", timeout, work
    )
    counted = target.count()
    run.requests_server = counted["requests"]
    run.probed, run.status_counts = probed(counted["log"])
    (work / f"{label}.server-log.json").write_text(json.dumps(counted["log"]))


def run_apigrade(apigrade: str, target: Target, work: Path, label: str, timeout: float) -> Run:
    out = work / f"{label}.json"
    cmd = [apigrade, "scan", target.url, "-f", "json", "-o", str(out)]
    run = Run(tool="apigrade", label=label, command=cmd, load_1m=os.getloadavg()[0])
    measure(run, target, work, label, timeout)
    if out.exists():
        report = json.loads(out.read_text())
        run.requests_tool = report.get("requests_sent")
        run.findings = apigrade_findings(report)
        run.detected = apigrade_detect(run.findings)
    return run


def wapiti_command(wapiti: str, url: str, work: Path, label: str, modules: str | None,
                   max_scan: float, max_attack: float | None) -> list[str]:  # fmt: skip
    cmd = [
        wapiti, "-u", url, "--flush-session", "--no-bugreport",
        "--store-session", str(work / f"{label}.session"),
        "--store-config", str(work / "wapiti-config"),
        # out-of-band endpoint (ssrf/xxe): a closed loopback port instead of the internet
        "--endpoint", f"http://127.0.0.1:{free_port()}/",
        # log4shell (loaded even when unused) resolves this name at start-up: no DNS query
        "--dns-endpoint", "127.0.0.1",
        "-f", "json", "-o", str(work / f"{label}.json"),
        "--max-scan-time", f"{max_scan:g}", "-v", "1",
    ]  # fmt: skip
    if max_attack is not None:
        cmd += ["--max-attack-time", f"{max_attack:g}"]
    if modules:
        cmd += ["-m", modules]
    return cmd


def run_wapiti(cmd: list[str], target: Target, work: Path, label: str, timeout: float) -> Run:
    run = Run(tool="wapiti", label=label, command=cmd, load_1m=os.getloadavg()[0])
    measure(run, target, work, label, timeout)
    out = work / f"{label}.json"
    if out.exists():
        run.findings = wapiti_findings(json.loads(out.read_text()))
        run.detected = wapiti_detect(run.findings)
    return run


def ensure_wapiti(venv: Path, python: str) -> str:
    """wapiti 3.2.3 in its own venv (it pins old dependencies); created when missing."""
    exe = venv / "bin" / "wapiti"
    if not exe.exists():
        print(f"creating {venv} with wapiti3=={WAPITI_VERSION} ...", flush=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"wapiti3=={WAPITI_VERSION}"],
                       check=True)  # fmt: skip
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    got = version.stdout.strip().splitlines()[-1:] or ["?"]
    if got[0] != WAPITI_VERSION:
        print(f"warning: {exe} reports version {got[0]!r}, expected {WAPITI_VERSION}")
    return str(exe)


# -- the summary -------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(runs: list[Run]) -> dict[str, Any]:
    walls = [r.wall_s for r in runs]
    reqs = [r.requests_server for r in runs]
    ranks = [NO, PARTIAL, YES]
    detected: dict[str, dict[str, Any]] = {}
    for key in SEEDED:
        verdicts = [r.detected.get(key, NO) for r in runs]
        best = max(verdicts, key=lambda v: ranks.index(v.split(":")[0]))
        status, _, why = best.partition(": ")
        n = sum(1 for v in verdicts if v.split(":")[0] == status)
        detected[key] = {"status": status, "why": why, "in_runs": n, "of_runs": len(runs)}
    return {
        "tool": runs[0].tool,
        "label": re.sub(r"^[a-z]+-|-\d+$", "", runs[0].label),
        "runs": len(runs),
        "command": runs[0].command,
        "wall_s_median": round(median(walls), 2),
        "wall_s_min": round(min(walls), 2),
        "wall_s_max": round(max(walls), 2),
        "cpu_s_median": round(median([r.cpu_s for r in runs]), 2),
        "load_1m_median": round(median([r.load_1m for r in runs]), 2),
        "requests_median": median([float(x) for x in reqs]),
        "requests_min": min(reqs),
        "requests_max": max(reqs),
        "requests_tool_reported": [r.requests_tool for r in runs],
        "exit_codes": [r.exit_code for r in runs],
        "timed_out": any(r.timed_out for r in runs),
        "findings_last_run": len(runs[-1].findings),
        "detected": detected,
        "probed_last_run": runs[-1].probed,
    }


def verdict_cell(v: dict[str, Any]) -> str:
    status, why = v["status"], v["why"]
    cell = "**yes**" if status == YES else "no"
    if status == PARTIAL:
        cell = f"partial: {why.split(': ', 1)[-1]}" if ": " in why else "partial"
    if status != NO and v["in_runs"] != v["of_runs"]:
        cell += f" (in {v['in_runs']} of {v['of_runs']} runs)"
    return cell


def markdown(summaries: list[dict[str, Any]], toolbar: bool) -> str:
    cols = [f"{s['tool']} ({s['label']})" for s in summaries]
    lines = [
        "| | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
        "| runs | " + " | ".join(str(s["runs"]) for s in summaries) + " |",
        "| wall s, median (min-max) | "
        + " | ".join(
            f"**{s['wall_s_median']:.2f}** ({s['wall_s_min']:.2f}-{s['wall_s_max']:.2f})"
            for s in summaries
        )  # fmt: skip
        + " |",
        "| CPU s, median | " + " | ".join(f"{s['cpu_s_median']:.2f}" for s in summaries) + " |",
        "| machine load (1 min), median | "
        + " | ".join(f"{s['load_1m_median']:.1f}" for s in summaries)
        + " |",
        "| requests at the server, median (min-max) | "
        + " | ".join(
            f"**{s['requests_median']:g}** ({s['requests_min']}-{s['requests_max']})"
            for s in summaries
        )  # fmt: skip
        + " |",
    ]
    for key, what in SEEDED.items():
        if key == "toolbar" and not toolbar:
            continue
        lines.append(
            f"| {what} | " + " | ".join(verdict_cell(s["detected"][key]) for s in summaries) + " |"
        )
    lines.append("")
    lines.append("Seeded paths requested at all (last run of each):")
    lines.append("")
    lines.append("| path | " + " | ".join(cols) + " |")
    lines.append("|---|" + "---|" * len(cols))
    for path in [*PROBE_PATHS, "debugger resource"]:
        lines.append(f"| `{path}` | " + " | ".join("yes" if s["probed_last_run"].get(path) else "no"
                                                   for s in summaries) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


# -- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="apigrade vs wapiti on a misconfigured Flask app")
    parser.add_argument("--rounds", type=int, default=5, help="counted apigrade runs")
    parser.add_argument("--wapiti-rounds", type=int, default=3, help="counted wapiti default runs")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs of each tool first")
    parser.add_argument("--no-extra", action="store_true",
                        help=f"skip the one wapiti run with -m {WAPITI_EXTRA_MODULES}")  # fmt: skip
    parser.add_argument("--no-wapiti", action="store_true")
    parser.add_argument("--toolbar", action=argparse.BooleanOptionalAction, default=None,
                        help="add Flask-DebugToolbar (default: when installed)")  # fmt: skip
    parser.add_argument("--target-host", default="127.0.0.1",
                        help="loopback address to serve on; 127.0.0.2 is not one of Werkzeug's "
                             "trusted hosts, so /console answers 400 (CVE-2024-34069 fix)")  # fmt: skip
    parser.add_argument("--apigrade", default=None, help="apigrade executable")
    parser.add_argument("--wapiti-venv", default=os.environ.get("WAPITI_VENV", "/tmp/wapiti-venv"))
    parser.add_argument(
        "--venv-python", default="python3", help="interpreter for a new wapiti venv"
    )
    parser.add_argument("--max-scan-time", type=float, default=120.0, help="wapiti --max-scan-time")
    parser.add_argument("--extra-max-scan-time", type=float, default=240.0)
    parser.add_argument("--extra-max-attack-time", type=float, default=120.0,
                        help="wapiti --max-attack-time of the extra run (buster would take minutes)")  # fmt: skip
    parser.add_argument("--out", default=None, help="directory for reports and logs")
    args = parser.parse_args(argv)

    if args.toolbar is None:
        try:
            import flask_debugtoolbar  # noqa: F401

            args.toolbar = True
        except ImportError:
            args.toolbar = False
    apigrade = args.apigrade or shutil.which("apigrade", path=str(Path(sys.executable).parent)) \
        or shutil.which("apigrade")  # fmt: skip
    if not apigrade:
        parser.error(
            "apigrade not found: install the project (pip install -e .) or pass --apigrade"
        )
    wapiti = None if args.no_wapiti else ensure_wapiti(Path(args.wapiti_venv), args.venv_python)
    work = Path(args.out or tempfile.mkdtemp(prefix="apigrade-bench-flask-out-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    print(f"outputs in {work}", flush=True)

    t_start = time.perf_counter()
    if not args.target_host.startswith("127."):
        parser.error("--target-host must be a 127.x.x.x loopback address")
    target = Target(sys.executable, args.toolbar, work, args.target_host)
    print(f"target {target.url} (toolbar: {args.toolbar})", flush=True)
    a_runs: list[Run] = []
    w_runs: list[Run] = []
    extra: list[Run] = []
    try:
        for i in range(args.warmup):
            run_apigrade(apigrade, target, work, f"apigrade-warmup-{i}", 120)
            if wapiti:
                cmd = wapiti_command(wapiti, target.url, work, f"wapiti-warmup-{i}", None,
                                     args.max_scan_time, None)  # fmt: skip
                run_wapiti(cmd, target, work, f"wapiti-warmup-{i}", args.max_scan_time + 60)
        for i in range(max(args.rounds, args.wapiti_rounds if wapiti else 0)):
            if i < args.rounds:
                r = run_apigrade(apigrade, target, work, f"apigrade-default-{i}", 120)
                a_runs.append(r)
                print(f"apigrade round {i}: {r.wall_s:.2f} s, {r.requests_server} requests, "
                      f"{len(r.findings)} findings, exit {r.exit_code}", flush=True)  # fmt: skip
            if wapiti and i < args.wapiti_rounds:
                label = f"wapiti-default-{i}"
                cmd = wapiti_command(
                    wapiti, target.url, work, label, None, args.max_scan_time, None
                )
                r = run_wapiti(cmd, target, work, label, args.max_scan_time + 60)
                w_runs.append(r)
                print(f"wapiti round {i}: {r.wall_s:.2f} s, {r.requests_server} requests, "
                      f"{len(r.findings)} findings, exit {r.exit_code}", flush=True)  # fmt: skip
        if wapiti and not args.no_extra:
            label = "wapiti-extra-0"
            cmd = wapiti_command(wapiti, target.url, work, label, WAPITI_EXTRA_MODULES,
                                 args.extra_max_scan_time, args.extra_max_attack_time)  # fmt: skip
            r = run_wapiti(cmd, target, work, label, args.extra_max_scan_time + 60)
            extra.append(r)
            print(f"wapiti extra: {r.wall_s:.2f} s, {r.requests_server} requests, "
                  f"{len(r.findings)} findings, exit {r.exit_code}", flush=True)  # fmt: skip
    finally:
        target.stop()

    summaries = [summarize(rs) for rs in (a_runs, w_runs, extra) if rs]
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },  # fmt: skip
        "toolbar": args.toolbar,
        "target_host": args.target_host,
        "bench_wall_s": round(time.perf_counter() - t_start, 1),
        "seeded": SEEDED,
        "summaries": summaries,
        "runs": [asdict(r) for r in (*a_runs, *w_runs, *extra)],
    }
    (work / "results.json").write_text(json.dumps(result, indent=2))
    table = markdown(summaries, args.toolbar)
    (work / "results.md").write_text(table)
    print()
    print(table)
    for s in summaries:
        print(f"{s['tool']} ({s['label']}): {' '.join(s['command'])}")
        for key, v in s["detected"].items():
            print(f"  {key:10} {v['status']:8} {v['why']} ({v['in_runs']}/{v['of_runs']})")
    print(f"\nbench wall time {result['bench_wall_s']} s; results in {work}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
