"""`tenancy fleet up|preview` with the REAL Pulumi CLI and Python language host, on a local
file backend, with stacks that need no cloud: the program only exports what it reads from the
stack's config. Skipped (with the reason) when the binaries are absent; they are built from Go
modules by `make testenv` (issue 10) into ~/.cache/tenancy-testenv/<key>/bin.

Binaries are looked up in TENANCY_TESTENV_BIN, else the newest ~/.cache/tenancy-testenv/*/bin
holding pulumi, pulumi-language-python and pulumi-language-python-exec. With
TENANCY_LIVE_REQUIRED=1 a missing binary fails the test instead (CI must not pass by skipping).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tenancy import cli
from tenancy.fleet.deploy import AutomationStacks, run_fleet
from tests.helpers.testenv import require_binaries

from .helpers import fleet_doc, tenants

NEEDED = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")

PROGRAM = '''\
import os
import time

import pulumi

time.sleep(float(os.environ.get("FLEET_TEST_HOLD", "0")))  # to hold the stack's lock in a test

platform = pulumi.Config("tenancy").require_object("platform")
fleet = pulumi.Config("tenancy").require_object("fleet")
pulumi.export("platform", platform["name"])
pulumi.export("cell", fleet["cell"])
pulumi.export("tenants", {t["name"]: t["slot"] for t in platform["tenants"]})
'''


def pulumi_bin() -> Path:
    """The testenv folder holding the CLI and its Python host (the live tests' rule: skipped with
    how to build them, failed under TENANCY_LIVE_REQUIRED)."""
    return require_binaries(NEEDED)


@pytest.fixture
def live(tmp_path: Path, monkeypatch):
    folder = pulumi_bin()
    project = tmp_path / "project"
    (project / "prog").mkdir(parents=True)
    (project / "prog" / "__main__.py").write_text(PROGRAM)
    # the language host runs the program with this test's interpreter's environment (it has the SDK)
    (project / "Pulumi.yaml").write_text(yaml.safe_dump({
        "name": "fleetlive", "main": "prog/",
        "runtime": {"name": "python", "options": {"virtualenv": sys.prefix}}}))
    state, home = tmp_path / "state", tmp_path / "pulumi-home"
    state.mkdir()
    home.mkdir()
    env = {
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "fleet-test",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_HOME": str(home),
        "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
        "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    doc = fleet_doc(tenants(5), rollout={"canary": "us-1"})
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump(doc))
    stacks = tmp_path / "stacks"
    assert cli.main(["fleet", "plan", str(fleet), "--stacks-dir", str(stacks)]) == 0
    return folder, project, stacks, fleet, env, tmp_path


def test_real_cli_up_then_preview_every_cell(live, capsys):
    folder, project, stacks, fleet, env, tmp = live
    source = AutomationStacks(project, stacks, tmp / "work", pulumi_root=folder.parent, env=env, plugins=[])
    lines: list[str] = []
    results = run_fleet("up", [["us-1"], ["eu-1", "eu-2"]], source, parallel=2, report=lines.append)
    assert [r.status for r in results] == ["succeeded"] * 3, "\n".join(lines + [r.error for r in results])
    # each cell is its own stack, with its own work dir, and saw its own config
    for cell in ("us-1", "eu-1", "eu-2"):
        stack = source.open(cell)
        outputs = {k: v.value for k, v in stack.outputs().items()}
        planned = yaml.safe_load((stacks / f"Pulumi.{cell}.yaml").read_text())["config"]
        assert outputs["cell"] == cell and outputs["platform"] == f"acme-{cell}"
        assert outputs["tenants"] == {t["name"]: t["slot"] for t in planned["tenancy:platform"]["tenants"]}
        assert (tmp / "work" / cell / "Pulumi.yaml").is_file()
        assert (tmp / "work" / cell / "up.log").stat().st_size > 0
    # the stack config stayed in the stacks directory (stackConfigDir points there)
    assert not list((tmp / "work").glob("*/Pulumi.*.yaml"))
    results = run_fleet("preview", [["us-1"], ["eu-1", "eu-2"]], source, parallel=2, report=lines.append)
    assert [r.status for r in results] == ["succeeded"] * 3
    assert all("create" not in r.changes for r in results), [r.changes for r in results]


def test_real_cli_through_the_command_line(live, capsys):
    folder, project, stacks, fleet, env, tmp = live
    code = cli.main(["fleet", "up", str(fleet), "--stacks-dir", str(stacks), "--project", str(project),
                     "--work-dir", str(tmp / "w"), "--pulumi-root", str(folder.parent), "--no-plugin-install",
                     "--parallel", "2"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "canary us-1" in out.out and "fleet up:" in out.out
    # a broken program in one cell: non-zero exit naming it, later waves not run
    (project / "prog" / "__main__.py").write_text("raise SystemExit('boom')\n")
    code = cli.main(["fleet", "up", str(fleet), "--stacks-dir", str(stacks), "--project", str(project),
                     "--work-dir", str(tmp / "w"), "--pulumi-root", str(folder.parent), "--no-plugin-install"])
    err = capsys.readouterr().err
    assert code == 1 and "failed: us-1" in err and "not run: eu-1, eu-2" in err


def test_real_cli_conflict_is_retried(live):
    """A real concurrent update: another `pulumi up` holds the canary stack's lock (self-managed
    backend: "the stack is currently locked by 1 lock(s)"); the runner retries until it is free."""
    folder, project, stacks, fleet, env, tmp = live
    source = AutomationStacks(project, stacks, tmp / "work", pulumi_root=folder.parent, env=env, plugins=[])
    source.open("us-1")  # create the stack
    holder = subprocess.Popen([str(folder / "pulumi"), "up", "--yes", "--non-interactive", "--stack", "us-1"],
                              cwd=source.work_dir("us-1"), env={**os.environ, **env, "FLEET_TEST_HOLD": "10"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        locks = tmp / "state" / ".pulumi" / "locks"
        deadline = time.monotonic() + 60
        while not list(locks.rglob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert list(locks.rglob("*.json")), "the holder never took the lock"
        lines: list[str] = []
        results = run_fleet("up", [["us-1"]], source, retries=6, backoff=2.0, report=lines.append)
    finally:
        holder.wait(timeout=120)
    assert holder.returncode == 0
    assert results[0].status == "succeeded", "\n".join(lines + [results[0].error])
    assert results[0].attempts >= 2
    assert any("concurrent update" in line for line in lines)
