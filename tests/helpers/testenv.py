"""Where the live tests' binaries are: the folder ``make testenv`` prints as its last line.

The binaries (kube-apiserver, kube-controller-manager, etcd, pulumi, pulumi-language-python,
pulumi-language-python-exec, pulumi-resource-kubernetes) are built from Go modules by
``testenv/build.sh`` into a cache outside the checkout, keyed by the wrapper modules' contents.

- ``TENANCY_TESTENV_BIN``: use this folder (``.ci/run`` sets it from ``make testenv``).
- otherwise ``testenv/build.sh --find`` prints the cached folder for the current wrapper modules,
  if it was built (it needs bash and sha256sum, not Go).
- ``TENANCY_LIVE_REQUIRED=1``: missing binaries FAIL the live tests instead of skipping them
  (``.ci/run`` sets it, so that CI cannot pass by skipping).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "testenv" / "build.sh"
OTELCOL_BUILD_SCRIPT = ROOT / "testenv" / "otelcol" / "build.sh"

KUBE_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
PULUMI_BINARIES = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-kubernetes")
ALL_BINARIES = KUBE_BINARIES + PULUMI_BINARIES

HOW = ("build them with `make testenv` (needs Go >= 1.26 and the Go module proxy; cold build "
       "about 45-60 min on 2 cores, cached afterwards), or point TENANCY_TESTENV_BIN at a folder holding them")


def live_required() -> bool:
    return os.environ.get("TENANCY_LIVE_REQUIRED", "") not in ("", "0", "false", "no")


def _found(env_var: str, script: Path) -> Path | None:
    """``$env_var`` when set, else the last line ``script --find`` prints (None when not built)."""
    env = os.environ.get(env_var)
    if env:
        return Path(env)
    try:
        out = subprocess.run(["bash", str(script), "--find"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return Path(lines[-1]) if out.returncode == 0 and lines else None


def _missing(msg: str) -> None:
    """Skip, or fail under TENANCY_LIVE_REQUIRED (CI cannot pass by skipping)."""
    if live_required():
        pytest.fail(f"TENANCY_LIVE_REQUIRED is set but {msg}", pytrace=False)
    pytest.skip(msg)


def bin_dir() -> Path | None:
    """The folder holding the binaries, or None when none is configured or built."""
    return _found("TENANCY_TESTENV_BIN", BUILD_SCRIPT)


def require_otelcol() -> Path:
    """The log router's collector binary (``testenv/otelcol/build.sh``, its own cache key;
    ``TENANCY_OTELCOL_BIN`` points elsewhere); skips (fails under TENANCY_LIVE_REQUIRED) when absent."""
    path = _found("TENANCY_OTELCOL_BIN", OTELCOL_BUILD_SCRIPT)
    if path is None or not os.access(path, os.X_OK):
        _missing("the log-router test needs the collector: run `bash testenv/otelcol/build.sh` (needs Go >= 1.26)")
    assert path is not None
    return path


def require_binaries(names: tuple[str, ...] = ALL_BINARIES) -> Path:
    """The bin folder holding ``names``; skips the test (fails under TENANCY_LIVE_REQUIRED) if any
    is missing, saying how to get them."""
    folder = bin_dir()
    missing = list(names) if folder is None else [n for n in names if not os.access(folder / n, os.X_OK)]
    if missing:
        where = "no testenv folder found" if folder is None else f"missing in {folder}"
        _missing(f"live tests need {', '.join(missing)} ({where}): {HOW}")
    assert folder is not None
    return folder
