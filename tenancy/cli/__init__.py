"""The ``tenancy`` command line: ``render``, ``validate``, ``diff``, ``check``, ``verify`` and ``fleet``
(:mod:`.main`, :mod:`.verify`, :mod:`.fleet`; exit codes in :mod:`.common`)."""

from tenancy.cli.common import EXIT_ERROR, EXIT_FAILED, EXIT_INVALID, EXIT_OK, EXIT_USAGE
from tenancy.cli.main import main

__all__ = ["EXIT_ERROR", "EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "main"]
