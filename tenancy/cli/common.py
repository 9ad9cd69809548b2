"""What every subcommand shares: the exit codes and the last line of defence."""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_FAILED, EXIT_USAGE = 0, 1, 2, 3, 64
"""0 success; 1 anything else; 2 invalid configuration or input; 3 a guardrail fails or isolation
loosens; 64 usage error (EX_USAGE)."""


def print_problems(problems: Sequence[object], where: object, what: str = "") -> None:
    """An invalid input's problems on stderr, one per line, under ``error: <where>: [<what>] (N problem(s)):``."""
    count = f"{len(problems)} problem(s)"
    print(f"error: {where}: {f'{what} ({count})' if what else count}:", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)


def unexpected(exc: BaseException, debug: bool) -> int:
    """The CLI's last line of defence (shared by every subcommand): exit 1 with the error's
    message, or re-raise it with ``--debug`` for the traceback."""
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    if debug:
        raise exc
    print(f"error: {exc}", file=sys.stderr)
    print("(run again with --debug for the traceback)", file=sys.stderr)
    return EXIT_ERROR
