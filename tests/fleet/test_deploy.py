"""`tenancy fleet preview|up` with fakes of the Automation API: canary then waves, a bounded
pool, plugins once before the workers, retries on ConcurrentUpdateError only, exit codes."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from pulumi.automation import ConcurrentUpdateError
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import create_command_error

from tenancy import cli
from tenancy.fleet import deploy
from tenancy.fleet.deploy import cell_project_file, exit_message, required_plugins, run_fleet, summary_table

from .helpers import fleet_doc, tenants

# What the CLI prints on stderr when another update holds the lock (self-managed backend,
# pulumi/automation/errors.py `diy_backend_conflict_text`).
LOCKED = "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end"


def conflict() -> Exception:
    # classified by the SDK's own function, from the CLI's own message
    return create_command_error(CommandResult(stdout="", stderr=LOCKED, code=255))


class FakeSource:
    """A fake of the Automation API's stacks: per cell, a script of outcomes, one per attempt
    ("ok", "conflict", "fail"); records the order of events and the peak concurrency."""

    def __init__(self, script: dict[str, list[str]] | None = None, duration: float = 0.03):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.duration = duration
        self.events: list[tuple[str, str]] = []
        self.active = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.opened: list[str] = []

    def install_plugins(self) -> None:
        self.events.append(("plugins", ""))

    def log_path(self, cell, op):
        return None

    def open(self, cell: str):
        self.opened.append(cell)
        return SimpleNamespace(up=lambda **kw: self._run(cell, "up"), preview=lambda **kw: self._run(cell, "preview"))

    def _run(self, cell: str, op: str):
        with self.lock:
            self.events.append(("start", cell))
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.duration)
        outcome = (self.script.get(cell) or ["ok"]).pop(0) if self.script.get(cell) else "ok"
        with self.lock:
            self.active -= 1
            self.events.append(("end", cell))
        if outcome == "conflict":
            raise conflict()
        if outcome == "fail":
            raise create_command_error(CommandResult(
                stdout="error: an unhandled error occurred: boom", stderr="error: update failed", code=1))
        if op == "up":
            return SimpleNamespace(summary=SimpleNamespace(resource_changes={"create": 3, "same": 1}))
        return SimpleNamespace(change_summary={"create": 2})

    def first(self, kind: str, cell: str) -> int:
        return self.events.index((kind, cell))


WAVES = [["c0"], ["c1", "c2", "c3"], ["c4", "c5"]]


def run(source, op="up", waves=WAVES, **kw):
    sleeps: list[float] = []
    lines: list[str] = []
    results = run_fleet(op, waves, source, sleep=sleeps.append, report=lines.append, **kw)
    return results, sleeps, lines


def test_conflict_errors_are_classified_by_the_sdk():
    assert isinstance(conflict(), ConcurrentUpdateError)


def test_canary_alone_then_waves_in_order_plugins_first():
    src = FakeSource()
    results, _, _ = run(src, parallel=4)
    assert [r.status for r in results] == ["succeeded"] * 6
    assert src.events[0] == ("plugins", "")
    assert src.events.count(("plugins", "")) == 1
    canary_end = src.first("end", "c0")
    assert all(src.first("start", c) > canary_end for c in ("c1", "c2", "c3", "c4", "c5"))
    wave1_end = max(src.first("end", c) for c in ("c1", "c2", "c3"))
    assert all(src.first("start", c) > wave1_end for c in ("c4", "c5"))
    assert results[0].wave == 0 and results[-1].wave == 2
    assert results[1].changes == {"create": 3, "same": 1}


@pytest.mark.parametrize("parallel", [1, 2, 3])
def test_parallelism_is_bounded(parallel):
    src = FakeSource(duration=0.05)
    run(src, waves=[["c0"], [f"w{i}" for i in range(7)]], parallel=parallel)
    assert src.peak == parallel


def test_retries_on_concurrent_update_with_backoff():
    src = FakeSource({"c2": ["conflict", "conflict", "ok"]})
    results, sleeps, lines = run(src, retries=3, backoff=2.0)
    c2 = next(r for r in results if r.cell == "c2")
    assert c2.status == "succeeded" and c2.attempts == 3
    assert sleeps == [2.0, 4.0]
    assert sum("concurrent update" in line for line in lines) == 2


def test_conflict_that_outlasts_the_retries_fails_the_cell():
    src = FakeSource({"c1": ["conflict"] * 5})
    results, sleeps, _ = run(src, retries=2)
    c1 = next(r for r in results if r.cell == "c1")
    assert c1.status == "failed" and c1.attempts == 3 and "concurrent update" in c1.error
    assert sleeps == [2.0, 4.0]


def test_other_errors_are_not_retried():
    src = FakeSource({"c3": ["fail", "ok"]})
    results, sleeps, _ = run(src, op="preview")
    c3 = next(r for r in results if r.cell == "c3")
    assert c3.status == "failed" and c3.attempts == 1 and sleeps == []
    assert "RuntimeError" in c3.error


def test_failed_canary_starts_nothing_else():
    src = FakeSource({"c0": ["fail"]})
    results, _, lines = run(src, op="preview")
    assert [r.status for r in results] == ["failed"] + ["skipped"] * 5
    assert [e for e in src.events if e[0] == "start"] == [("start", "c0")]
    assert exit_message("preview", results) == "fleet preview: failed: c0; not run: c1, c2, c3, c4, c5"


def test_failed_wave_stops_up_but_not_preview():
    results, _, _ = run(FakeSource({"c2": ["fail"]}), op="up")
    assert {r.cell: r.status for r in results} == {
        "c0": "succeeded", "c1": "succeeded", "c2": "failed", "c3": "succeeded", "c4": "skipped", "c5": "skipped"}
    results, _, _ = run(FakeSource({"c2": ["fail"]}), op="preview")
    assert [r.status for r in results].count("succeeded") == 5


def test_summary_table_and_exit_message():
    results, _, _ = run(FakeSource({"c4": ["fail"]}))
    table = summary_table("up", results)
    assert table.splitlines()[1].startswith("cell")
    assert any(line.startswith("c4 ") and "failed" in line for line in table.splitlines())
    assert exit_message("up", results) == "fleet up: failed: c4"
    results, _, _ = run(FakeSource())
    assert exit_message("up", results) is None


def test_cell_project_file_points_back_at_project_and_stacks(tmp_path: Path):
    project = tmp_path / "proj"
    (project / "stacks").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text(yaml.safe_dump({
        "name": "tenancy", "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}},
        "main": "stacks/", "stackConfigDir": "stacks"}))
    stacks = tmp_path / "fleet-stacks"
    work = tmp_path / "work" / "eu-1"
    work.mkdir(parents=True)
    doc = cell_project_file(project, stacks, work)
    assert doc["name"] == "tenancy"
    # Pulumi joins these to the project file's directory (filepath.Join): they must resolve back
    assert (work / doc["main"]).resolve() == (project / "stacks").resolve()
    assert (work / doc["stackConfigDir"]).resolve() == stacks.resolve()
    assert (work / doc["runtime"]["options"]["virtualenv"]).resolve() == (project / ".venv").resolve()
    with pytest.raises(FileNotFoundError, match="--project"):
        cell_project_file(tmp_path / "nowhere", stacks, work)


def test_required_plugins_come_from_the_installed_provider_sdks():
    from importlib.metadata import version

    plugins = {p["name"]: p["version"] for p in required_plugins()}
    assert plugins == {"aws": version("pulumi_aws"), "eks": version("pulumi_eks"),
                       "kubernetes": version("pulumi_kubernetes")}


# ---- the CLI, with the fake in place of AutomationStacks


@pytest.fixture
def planned(tmp_path: Path):
    doc = fleet_doc(tenants(3), rollout={"canary": "eu-2", "waves": [["us-1"]]})
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(yaml.safe_dump(doc))
    stacks = tmp_path / "stacks"
    assert cli.main(["fleet", "plan", str(fleet), "--stacks-dir", str(stacks)]) == 0
    return fleet, stacks


def use_fake(monkeypatch, src: FakeSource):
    monkeypatch.setattr(deploy, "AutomationStacks", lambda *a, **kw: src)


def test_cli_up_rolls_out_canary_first_and_exits_0(planned, monkeypatch, capsys):
    fleet, stacks = planned
    src = FakeSource()
    use_fake(monkeypatch, src)
    assert cli.main(["fleet", "up", str(fleet), "--stacks-dir", str(stacks), "--parallel", "2"]) == 0
    out = capsys.readouterr().out
    assert "canary eu-2, then [us-1] -> [eu-1]" in out
    assert [c for kind, c in src.events if kind == "start"] == ["eu-2", "us-1", "eu-1"]
    assert "fleet up:" in out and "succeeded" in out


def test_cli_exit_1_names_failed_cells(planned, monkeypatch, capsys):
    fleet, stacks = planned
    use_fake(monkeypatch, FakeSource({"us-1": ["fail"]}))
    assert cli.main(["fleet", "up", str(fleet), "--stacks-dir", str(stacks)]) == 1
    err = capsys.readouterr().err
    assert "fleet up: failed: us-1; not run: eu-1" in err
    use_fake(monkeypatch, FakeSource({"eu-1": ["conflict", "ok"]}))
    assert cli.main(["fleet", "preview", str(fleet), "--stacks-dir", str(stacks), "--retries", "1"]) == 0


def test_cli_without_a_pulumi_cli_says_how_to_get_one(planned, tmp_path, capsys):
    fleet, stacks = planned
    code = cli.main(["fleet", "preview", str(fleet), "--stacks-dir", str(stacks),
                     "--pulumi-root", str(tmp_path / "no-pulumi-here")])
    err = capsys.readouterr().err
    assert code == 1 and "the Pulumi CLI was not found" in err and "--pulumi-root" in err


def test_plugin_install_failure_stops_before_any_cell(monkeypatch):
    src = FakeSource()

    def broken():
        raise create_command_error(CommandResult(stdout="", stderr="error: could not download plugin", code=1))

    monkeypatch.setattr(src, "install_plugins", broken)
    with pytest.raises(RuntimeError, match="--no-plugin-install"):
        run(src)
    assert src.events == []
