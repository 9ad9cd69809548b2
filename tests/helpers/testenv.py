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

KUBE_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
PULUMI_BINARIES = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-kubernetes")
ALL_BINARIES = KUBE_BINARIES + PULUMI_BINARIES

HOW = ("build them with `make testenv` (needs Go >= 1.26 and the Go module proxy; cold build "
       "about 45-60 min on 2 cores, cached afterwards), or point TENANCY_TESTENV_BIN at a folder holding them")


def live_required() -> bool:
    return os.environ.get("TENANCY_LIVE_REQUIRED", "") not in ("", "0", "false", "no")


def bin_dir() -> Path | None:
    """The folder holding the binaries, or None when none is configured or built."""
    env = os.environ.get("TENANCY_TESTENV_BIN")
    if env:
        return Path(env)
    try:
        out = subprocess.run(["bash", str(BUILD_SCRIPT), "--find"], capture_output=True, text=True, timeout=60,
                             cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return Path(lines[-1]) if out.returncode == 0 and lines else None


def require_binaries(names: tuple[str, ...] = ALL_BINARIES) -> Path:
    """The bin folder holding ``names``; skips the test (fails under TENANCY_LIVE_REQUIRED) if any
    is missing, saying how to get them."""
    folder = bin_dir()
    missing = list(names) if folder is None else [n for n in names if not os.access(folder / n, os.X_OK)]
    if missing:
        where = "no testenv folder found" if folder is None else f"missing in {folder}"
        msg = f"live tests need {', '.join(missing)} ({where}): {HOW}"
        if live_required():
            pytest.fail(f"TENANCY_LIVE_REQUIRED is set but {msg}", pytrace=False)
        pytest.skip(msg)
    assert folder is not None
    return folder
