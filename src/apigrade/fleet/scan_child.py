"""The child side of :mod:`apigrade.fleet.isolation`: run one scan, answer, exit.

Run as ``python -m apigrade.fleet.scan_child`` in a session of its own. Reads one request
(URL, options as :meth:`ScanOptions.to_json`) from stdin and writes one answer to the
stdout it started with; anything else printed goes to stderr. The options' signature
folders are loaded before the scan selects its checks; the scan goes through the public
entry point, :func:`apigrade.engine.scanner.run_scan`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

from apigrade.fleet.isolation import encode, portable_error, read_message

#: seconds the normal exit (atexit stops the scan's analysis workers) may take when
#: the scan is stopped, before the whole process group is killed
STOP_GRACE_S = 1.5
_stopping = threading.Event()


def _kill_group() -> NoReturn:
    """Kill this process and every process it started (they share its group)."""
    os.killpg(os.getpgid(0), signal.SIGKILL)
    os._exit(1)  # pragma: no cover - the line above does not return


def _on_sigterm(signum: int, _frame: Any) -> None:
    """Stop: leave through the normal exit, so that the scan's workers, their forkserver
    and resource tracker are stopped and clean up; kill the group if that hangs."""
    if _stopping.is_set():
        return
    _stopping.set()
    timer = threading.Timer(STOP_GRACE_S, _kill_group)
    timer.daemon = True
    timer.start()
    raise SystemExit(128 + signum)


def _watch_parent(fd: int) -> None:
    """The parent keeps our stdin open while it waits: EOF means it is gone (or that it
    wants us to stop)."""
    while os.read(fd, 4096):
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a scan ends
    signal.signal(signal.SIGTERM, _on_sigterm)
    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints can never corrupt the answer
    try:
        url, data = read_message(0)
    except (EOFError, OSError, ValueError, TypeError):
        sys.exit(2)
    threading.Thread(target=_watch_parent, args=(0,), daemon=True).start()

    from apigrade.checks.plugins import use_signatures
    from apigrade.engine.scanner import run_scan
    from apigrade.scan_options import ScanOptions

    try:
        options = ScanOptions.from_json(data)
        for folder in options.signatures:  # before the scan selects its checks
            use_signatures(Path(folder))
        outcome: tuple[str, Any] = ("ok", asyncio.run(run_scan(url, options)))
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
        if _stopping.is_set():
            raise  # stopped by the parent (or its death): nobody waits for an answer
        outcome = ("error", portable_error(exc))
    answer.write(encode(outcome))
    answer.close()


if __name__ == "__main__":
    main()
