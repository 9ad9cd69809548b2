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


_FAKE_GO = r"""#!/usr/bin/env bash
# A stand-in for `go`: answers what testenv/build.sh asks, slowly, and logs every build.
set -euo pipefail
case "$1 ${2:-}" in
  "env GOVERSION") echo go1.26.0 ;;
  "mod download")
    mkdir -p "$FAKE_MODS/python/cmd"
    printf '#!/bin/sh\n' > "$FAKE_MODS/python/cmd/pulumi-language-python-exec"
    printf '{\n\t"Path": "%s",\n\t"Dir": "%s",\n\t"Version": "v3.0.0"\n}\n' "${@: -1}" "$FAKE_MODS" ;;
  "run ./gen") ;;
  build*)
    out=""; while (( $# )); do [[ "$1" == -o ]] && { out="$2"; shift; }; shift; done
    echo "$out" >> "$FAKE_LOG"
    sleep 0.3
    printf '#!/bin/sh\n' > "$out"; chmod +x "$out" ;;
  *) echo "fake go: unexpected: $*" >&2; exit 9 ;;
esac
"""


def test_concurrent_builds_wait_for_each_other_and_build_each_binary_once(tmp_path: Path) -> None:
    """Two `make testenv` at once (a developer's and a test session's) used to race over one
    temporary file per binary; now the second waits on the key's lock and finds the binaries cached.
    The build itself is a stand-in `go` (no Go needed): what is judged is the script's coordination."""
    fake_bin = tmp_path / "fakebin"
    fake_bin.mkdir()
    (fake_bin / "go").write_text(_FAKE_GO)
    (fake_bin / "go").chmod(0o755)
    log = tmp_path / "builds.log"
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "TENANCY_TESTENV_CACHE": str(tmp_path / "cache"),
           "FAKE_LOG": str(log), "FAKE_MODS": str(tmp_path / "mods")}
    procs = [subprocess.Popen(["bash", str(testenv.BUILD_SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    folders = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(folders) == 1
    folder = Path(folders.pop())
    built = log.read_text().split()
    # Six `go build`s (the exec shim is copied, not built), each exactly once, under a temporary name.
    assert len(built) == 6 and len(set(built)) == 6, built
    assert all(Path(b).name.startswith(".") and ".tmp." in Path(b).name for b in built), built
    assert all(os.access(folder / n, os.X_OK) for n in testenv.ALL_BINARIES)
    assert not [p.name for p in folder.iterdir() if ".tmp" in p.name], "no temporary file is left behind"
    assert any("waiting" in err or "cached" in out for out, err in outs), outs
