"""How the live tests find their binaries, skip without them, and fail without them in CI
(tests/helpers/testenv.py, testenv/build.sh --find/--path). Needs no Go and no binaries."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import testenv


def _script(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TENANCY_TESTENV_CACHE": str(cache)}
    return subprocess.run(["bash", str(testenv.BUILD_SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def test_find_reports_nothing_until_the_folder_is_complete(tmp_path: Path) -> None:
    assert _script("--find", cache=tmp_path).returncode == 1
    folder = Path(_script("--path", cache=tmp_path).stdout.strip())
    assert folder.is_relative_to(tmp_path) and folder.name == "bin"
    assert "kube-v1." in str(folder) and "pulumi-v3." in str(folder)
    folder.mkdir(parents=True)
    for name in testenv.ALL_BINARIES:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    assert _script("--find", cache=tmp_path).returncode == 1, "no .complete marker yet"
    (folder / ".complete").write_text("key=test\n")
    found = _script("--find", cache=tmp_path)
    assert found.returncode == 0 and found.stdout.strip() == str(folder)
    # A warm `make testenv` only prints the folder, last.
    warm = _script(cache=tmp_path)
    assert warm.returncode == 0 and warm.stdout.strip().splitlines()[-1] == str(folder)
    (folder / "pulumi").unlink()
    assert _script("--find", cache=tmp_path).returncode == 1


def test_missing_binaries_skip_with_instructions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANCY_TESTENV_BIN", str(tmp_path))
    monkeypatch.delenv("TENANCY_LIVE_REQUIRED", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make testenv"):
        testenv.require_binaries()


def test_missing_binaries_fail_when_required(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANCY_TESTENV_BIN", str(tmp_path))
    monkeypatch.setenv("TENANCY_LIVE_REQUIRED", "1")
    with pytest.raises(pytest.fail.Exception, match="TENANCY_LIVE_REQUIRED"):
        testenv.require_binaries()


def test_present_binaries_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in testenv.KUBE_BINARIES:
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("TENANCY_TESTENV_BIN", str(tmp_path))
    monkeypatch.setenv("TENANCY_LIVE_REQUIRED", "1")
    assert testenv.require_binaries(testenv.KUBE_BINARIES) == tmp_path
    with pytest.raises(pytest.fail.Exception, match="pulumi"):
        testenv.require_binaries()
