"""``make demo`` (tools/demo.py) end to end, non-interactive, as a user runs it: the dev stack's
in-cluster layer on a local control plane, ``tenancy verify --skip-aws`` passing, both walls held,
and no server left running afterwards — also when interrupted (Ctrl-C) mid-way; ``--keep`` leaves
them running and prints a stop command that stops them.

Skips without the binaries (``make testenv``), fails instead under ``TENANCY_LIVE_REQUIRED``."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.helpers import live
from tests.helpers.controlplane import ControlPlane, Kube, wait_for
from tests.helpers.testenv import KUBE_BINARIES, ROOT, require_binaries

DEMO = ROOT / "tools" / "demo.py"


def _env(bin_dir: Path) -> dict[str, str]:
    return {**os.environ, "TENANCY_TESTENV_BIN": str(bin_dir), "PYTHONPATH": str(ROOT)}


def _pids(workdir: Path) -> dict[str, int]:
    return {p.stem: int(p.read_text()) for p in workdir.glob("*.pid")}


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) is not running
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def test_demo_verifies_shows_the_walls_and_leaves_nothing_running(tmp_path: Path) -> None:
    bin_dir = require_binaries(KUBE_BINARIES)
    out = subprocess.run([sys.executable, str(DEMO), "--workdir", str(tmp_path)], env=_env(bin_dir), cwd=ROOT,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "DEMO PASSED: verify exit 0, walls held, tampering caught" in text, text[-4000:]
    # the tampering: verify's failure names the tenant and the deleted policy
    assert "the tampering is caught, naming alpha" in text, text[-4000:]
    m = re.search(r"tenancy verify: (\d+) passed, (\d+) failed", text)
    assert m and int(m.group(1)) > 60 and m.group(2) == "0", text[-4000:]
    for check in ("drift.kubernetes", "behaviour.rbac", "behaviour.admission", "isolation"):
        assert f"| pass | `{check}`" in text
    assert not [line for line in text.splitlines() if line.startswith("| fail |")]
    # the walls: the placement policy's own message, and RBAC
    assert "ValidatingAdmissionPolicy 'tenancy-pod-placement'" in text
    assert "must run on the nodes of tenant alpha" in text
    assert 'cannot create resource "networkpolicies"' in text
    assert "create --dry-run=server -f" in text  # the command it ran, shown
    pids = _pids(tmp_path)
    assert set(pids) == {"etcd", "kube-apiserver", "kube-controller-manager"}
    assert not [n for n, pid in pids.items() if _running(pid)]
    assert "every server stopped" in text


def test_demo_interrupted_stops_its_servers(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT) once the control plane is up: the demo stops every server by PID and exits non-zero."""
    bin_dir = require_binaries(KUBE_BINARIES)
    proc = subprocess.Popen([sys.executable, str(DEMO), "--workdir", str(tmp_path)], env=_env(bin_dir), cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("  PIDs: "):
            break
    pids = _pids(tmp_path)
    assert len(pids) == 3 and all(_running(p) for p in pids.values()), "".join(seen)  # control: they ran
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, "".join(seen) + rest
    assert not [n for n, pid in pids.items() if _running(pid)], rest


def test_demo_keep_leaves_the_servers_and_its_stop_command_stops_them(tmp_path: Path) -> None:
    bin_dir = require_binaries(KUBE_BINARIES)
    out = subprocess.run([sys.executable, str(DEMO), "--workdir", str(tmp_path), "--keep"], env=_env(bin_dir),
                         cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    pids = _pids(tmp_path)
    try:
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr
        assert f"export KUBECONFIG={tmp_path / 'kubeconfig'}" in out.stdout
        assert all(_running(p) for p in pids.values()), pids
        [stop] = re.findall(r"stop it with: (kill .*)$", out.stdout, re.M)
        assert sorted(int(p) for p in re.match(r"kill ([\d ]+);", stop).group(1).split()) == sorted(pids.values())
        subprocess.run(["bash", "-c", stop], check=True, timeout=60)
        assert not (tmp_path / "kubeconfig").exists()
        deadline = time.monotonic() + 10
        while any(_running(p) for p in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [n for n, pid in pids.items() if _running(pid)]
    finally:
        for pid in pids.values():
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def _demo_module() -> Any:
    spec = importlib.util.spec_from_file_location("tenancy_demo", DEMO)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_walls_notice_a_broken_wall(control_plane: ControlPlane, kube: Kube, applied: Any,
                                         tmp_path: Path) -> None:
    """Negative control for the demo's own judgement: on the session's platform the walls hold for
    the scratch tenant zeta; with zeta's editors bound to a ClusterRole that may write
    NetworkPolicies, the demo reports the wall broken (and holds again once the binding is gone)."""
    demo = _demo_module()
    assert demo.walls(kube, tmp_path, ["zeta"])
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "demo-tamper-netpol"},
            "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create"]}]}
    rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
          "metadata": {"name": "demo-tamper-netpol", "namespace": "zeta"},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "demo-tamper-netpol"},
          "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                        "name": live.persona_group("zeta", "edit")}]}
    kube.apply(role)
    kube.apply(rb)
    try:
        wait_for("the tamper binding to reach the authorizer", lambda: kube.can(
            "x", [live.persona_group("zeta", "edit")], "create", "networkpolicies", "networking.k8s.io", "zeta"), 30)
        assert not demo.walls(kube, tmp_path, ["zeta"])
    finally:
        kube.delete_obj(rb)
        kube.delete_obj(role)
        live.wait_for_deletion(kube, rb)
    wait_for("the wall to hold again", lambda: demo.walls(kube, tmp_path, ["zeta"]), 30, interval=1)
