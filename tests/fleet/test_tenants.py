"""The tenant-stacks runner (tenancy.fleet.tenants.deploy_tenants) with fake stacks: the platform
stack first and alone, only changed stacks run, removed tenants' stacks are destroyed, the ledger
records successes only, a failed platform stack stops the rest, the grouping is fixed. The real
engine runs it in tests/live/test_tenant_stacks_live.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tenancy.cli.main import main as cli
from tenancy.fleet import tenants as runner
from tests.fixtures.specs import spec_with, tenant

A, B, C = tenant("a", 0, allowFrom=["b"]), tenant("b", 1), tenant("c", 2)


class FakeStacks:
    def __init__(self, root: Path, fail: set[str] | None = None):
        self.work_root = root
        self.calls: list[tuple[str, str, tuple[str, ...]]] = []
        self.fail = fail or set()
        self.lock = threading.Lock()
        self.spec: Any = None

    def write_spec(self, data: Any) -> None:
        self.spec = data

    def open(self, stack: str, tenants: Any = ()) -> Any:
        def op(name: str) -> Any:
            def run(**_: Any) -> Any:
                with self.lock:
                    self.calls.append((name, stack, tuple(tenants)))
                if stack in self.fail:
                    raise RuntimeError(f"boom in {stack}")
                return SimpleNamespace(summary=SimpleNamespace(resource_changes={"create": 2, "same": 1}))
            return run

        return SimpleNamespace(up=op("up"), destroy=op("destroy"),
                               workspace=SimpleNamespace(remove_stack=lambda s: None))


def test_only_changed_stacks_run(tmp_path: Path) -> None:
    fake = FakeStacks(tmp_path)
    first = runner.deploy_tenants(spec_with([A, B]), fake, per_stack=1)  # type: ignore[arg-type]
    assert fake.calls[0] == ("up", "platform", ())  # first, alone (the pool starts after it)
    assert sorted(fake.calls[1:]) == [("up", "tenant-a", ("a",)), ("up", "tenant-b", ("b",))]
    assert all(r.status == "succeeded" and r.changes == {"create": 2} for r in first)
    ledger = json.loads((tmp_path / "deployed.json").read_text())
    assert set(ledger) == {"platform", "tenant-a", "tenant-b", runner.PER_STACK_KEY}

    fake.calls.clear()
    again = runner.deploy_tenants(spec_with([A, B]), fake, per_stack=1)  # type: ignore[arg-type]
    assert fake.calls == [] and {r.op for r in again} == {"skipped"}

    runner.deploy_tenants(spec_with([A, B, C]), fake, per_stack=1)  # type: ignore[arg-type]
    assert fake.calls == [("up", "tenant-c", ("c",))]

    fake.calls.clear()
    runner.deploy_tenants(spec_with([{**A, "allowFrom": []}, B]), fake, per_stack=1)  # type: ignore[arg-type]
    assert sorted(fake.calls) == [("destroy", "tenant-c", ()), ("up", "tenant-a", ("a",)), ("up", "tenant-b", ("b",))]
    assert "tenant-c" not in json.loads((tmp_path / "deployed.json").read_text())


def test_failures_are_not_recorded_and_platform_failure_stops(tmp_path: Path) -> None:
    fake = FakeStacks(tmp_path, fail={"tenant-b"})
    results = {r.stack: r for r in runner.deploy_tenants(spec_with([A, B]), fake, per_stack=1)}  # type: ignore[arg-type]
    assert results["tenant-b"].status == "failed" and "boom in tenant-b" in results["tenant-b"].error
    assert "tenant-b" not in json.loads((tmp_path / "deployed.json").read_text())
    fake.fail, fake.calls = set(), []
    runner.deploy_tenants(spec_with([A, B]), fake, per_stack=1)  # type: ignore[arg-type]
    assert fake.calls == [("up", "tenant-b", ("b",))]  # retried next run, the rest skipped

    other = FakeStacks(tmp_path / "other", fail={"platform"})
    results = {r.stack: r for r in runner.deploy_tenants(spec_with([A, B]), other, per_stack=1)}  # type: ignore[arg-type]
    assert other.calls == [("up", "platform", ())]
    assert results["platform"].status == "failed"
    assert {results[s].status for s in ("tenant-a", "tenant-b")} == {"skipped"}


def test_grouping_is_fixed_per_ledger(tmp_path: Path) -> None:
    fake = FakeStacks(tmp_path)
    runner.deploy_tenants(spec_with([A, B, C]), fake, per_stack=10)  # type: ignore[arg-type]
    assert sorted(c[1:] for c in fake.calls) == [("platform", ()), ("tenants-0000", ("a", "b", "c"))]
    with pytest.raises(ValueError, match=r"deployed with 10 tenant\(s\) per stack, not 1"):
        runner.deploy_tenants(spec_with([A, B, C]), fake, per_stack=1)  # type: ignore[arg-type]


def test_cli_refuses_invalid_spec_and_missing_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(json.dumps(spec_with([{**A, "allowFrom": ["zz"]}, B])))
    code = cli(["deploy-tenants", "--config", str(bad), "--kubeconfig", "k", "--work-dir", str(tmp_path / "w")])
    assert code == 2 and "zz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["deploy-tenants", "--config", str(bad), "--work-dir", str(tmp_path / "w")])


def test_pooled_tenants_are_refused_before_anything_runs(tmp_path: Path) -> None:
    from tests.fixtures.pools import pooled_platform

    fake = FakeStacks(tmp_path)
    with pytest.raises(ValueError, match=r"tenants\[\d+\] \(\w+\): a pooled tenant .* --platform-stack"):
        runner.deploy_tenants(pooled_platform(8), fake)  # type: ignore[arg-type]
    assert fake.calls == []


def test_with_the_aws_platform_stack_pooled_tenants_run_and_there_is_no_platform_stack(tmp_path: Path) -> None:
    """The AWS Platform (tenancy:inCluster: tenant-stacks) gives the pod security groups and holds
    the cluster-wide objects: every tenant stack runs, no platform stack of the runner's own."""
    from tests.fixtures.pools import pooled_platform

    fake = FakeStacks(tmp_path)
    fake.platform_stack = "acme/tenancy/prod"  # type: ignore[attr-defined]
    data = pooled_platform(8)
    results = runner.deploy_tenants(data, fake, per_stack=1)  # type: ignore[arg-type]
    assert {c[1] for c in fake.calls} == {f"tenant-{t['name']}" for t in data["tenants"]}
    assert all(r.status == "succeeded" for r in results)


def test_the_real_runner_config_names_the_platform_stack(tmp_path: Path) -> None:
    stacks = runner.TenantStacks(tmp_path, env={}, platform_stack="acme/tenancy/prod")
    assert stacks.platform_stack == "acme/tenancy/prod"
    assert stacks.config["tenancy:platformStack"] == "acme/tenancy/prod" and "tenancy:kubeconfig" not in stacks.config
    assert runner.TenantStacks(tmp_path, env={}, kubeconfig="/k").platform_stack is None
    assert "tenancy:adopt" not in stacks.config
    assert runner.TenantStacks(tmp_path, env={}, kubeconfig="/k", adopt=True).config["tenancy:adopt"] == "true"


def test_team_stack_tenants_are_refused_before_anything_runs(tmp_path: Path) -> None:
    fake = FakeStacks(tmp_path)
    fake.platform_stack = "acme/tenancy/prod"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match=r"tenants\[1\] \(b\): teamStack tenants are not supported"):
        runner.deploy_tenants(spec_with([A, {**B, "teamStack": True}]), fake)  # type: ignore[arg-type]
    assert fake.calls == []
