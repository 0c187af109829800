"""``python -m apigrade.crack VALUE [--wordlist PATH]``: the crack command on its own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from apigrade.crack.command import run


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run :func:`apigrade.crack.command.run`."""
    parser = argparse.ArgumentParser(prog="python -m apigrade.crack", description=__doc__)
    parser.add_argument("value", help="cookie value, name=value, or token")
    parser.add_argument("-w", "--wordlist", type=Path, help="wordlist, one candidate a line")
    parser.add_argument("--salt", action="append", help="itsdangerous/Django salt (repeatable)")
    parser.add_argument("--no-builtin", action="store_true",
                        help="skip the built-in defaults and the flask-unsign-wordlist list")
    parser.add_argument("-p", "--processes", type=int, help="worker processes (default: CPUs)")
    args = parser.parse_args(argv)
    return run(args.value, args.wordlist, Console(highlight=False), salts=args.salt,
               builtin=not args.no_builtin, processes=args.processes)


if __name__ == "__main__":
    sys.exit(main())
