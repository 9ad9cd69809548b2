"""The recommended design for hundreds of tenants (docs/scaling.md), through the real engine: a
platform stack and one stack per tenant (tenancy.fleet.tenants.deploy_tenants, the Automation API
with the built CLI, Python language host and Kubernetes provider), against the local API server.

Onboarding a tenant runs only its stack (the others' state is byte-for-byte unchanged and gets no
new update); changing one runs only its stack; removing a tenant destroys only its stack, keeps its
namespace and fences, and the peer's stack drops the edge half in the peer's namespace."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tenancy.fleet.tenants import StackResult, TenantStacks, deploy_tenants
from tenancy.plan import admission as placement
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane
from tests.helpers.testenv import PULUMI_BINARIES, require_binaries

pytestmark = pytest.mark.live

# Names of their own (the monolithic engine test shares this control plane): ea allows eb in, ec allows ea in.
EA = tenant("ea", 10, allowFrom=["eb"], serviceAccounts=["app"])
EB = tenant("eb", 11)
EC = tenant("ec", 12, allowFrom=["ea"])
ED = tenant("ed", 13)


@pytest.fixture(scope="module")
def stacks(engine_control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TenantStacks]:
    bin_dir = require_binaries(PULUMI_BINARIES)
    work = tmp_path_factory.mktemp("tenant-stacks")
    env = live.engine_env(bin_dir, work)
    yield TenantStacks(work / "stacks", env=env, kubeconfig=str(engine_control_plane.kubeconfig_path),
                       pulumi_root=bin_dir.parent)


def _deploy(stacks: TenantStacks, tenants: list[dict[str, Any]]) -> dict[str, StackResult]:
    results = deploy_tenants(spec_with(copy.deepcopy(tenants)), stacks, parallel=2, per_stack=1)
    failed = [r for r in results if r.status == "failed"]
    assert not failed, failed
    return {r.stack: r for r in results}


def _ran(results: dict[str, StackResult]) -> dict[str, str]:
    return {s: r.op for s, r in results.items() if r.op != "skipped"}


def _state(stacks: TenantStacks, stack: str) -> bytes:
    files = list((stacks.work_root.parent / "state" / ".pulumi" / "stacks").rglob(f"{stack}.json"))
    assert len(files) == 1, files
    return files[0].read_bytes()




def test_tenant_stacks_lifecycle(stacks: TenantStacks, engine_control_plane: ControlPlane) -> None:
    kube = engine_control_plane.client()
    policy = {"apiVersion": placement.API_VERSION, "kind": "ValidatingAdmissionPolicy",
              "metadata": {"name": placement.POLICY_NAME}}

    # 1. First deploy: the platform stack, then the three tenant stacks; every object in place.
    first = _deploy(stacks, [EA, EB, EC])
    assert _ran(first) == {"platform": "up", "tenant-ea": "up", "tenant-eb": "up", "tenant-ec": "up"}
    assert all(set(r.changes) == {"create"} for r in first.values()), first
    assert kube.exists(policy)
    assert all(live.has_namespace(kube, n) for n in ("ea", "eb", "ec"))
    assert live.has_network_policy(kube, "ea", "tenancy-allow-from-eb")
    assert live.has_network_policy(kube, "eb", "tenancy-allow-to-ea")
    assert live.has_network_policy(kube, "ec", "tenancy-allow-from-ea")
    assert live.has_network_policy(kube, "ea", "tenancy-allow-to-ec")
    assert kube.get("/api/v1/namespaces/ea")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"

    # 2. Nothing changed: no stack runs. Negative control for the skip: the engine agrees that a
    #    skipped stack has nothing to do (a real preview of one).
    again = _deploy(stacks, [EA, EB, EC])
    assert _ran(again) == {}
    preview = stacks.open("tenant-ea", ["ea"]).preview(color="never")
    assert {k: v for k, v in preview.change_summary.items() if k != "same" and v} == {}, preview.stdout

    # 3. Onboarding a fourth tenant runs only its stack; the others' state files are untouched.
    before = {s: _state(stacks, s) for s in ("platform", "tenant-ea", "tenant-eb", "tenant-ec")}
    onboard = _deploy(stacks, [EA, EB, EC, ED])
    assert _ran(onboard) == {"tenant-ed": "up"}
    assert set(onboard["tenant-ed"].changes) == {"create"}
    assert {s: _state(stacks, s) for s in before} == before
    assert live.has_namespace(kube, "ed") and live.has_network_policy(kube, "ed", "tenancy-default-deny")

    # 4. Changing one tenant runs only its stack: one update.
    change = _deploy(stacks, [EA, EB, EC, {**ED, "quota": {"pods": 7}}])
    assert _ran(change) == {"tenant-ed": "up"} and change["tenant-ed"].changes == {"update": 1}
    assert kube.get("/api/v1/namespaces/ed/resourcequotas")["items"][0]["spec"]["hard"]["pods"] == "7"

    # 5. Removing ec: its stack is destroyed (namespace and fences retained), ea's stack drops the
    #    egress half in ea's namespace; eb, ed and the platform do not run.
    before = {s: _state(stacks, s) for s in ("platform", "tenant-eb", "tenant-ed")}
    removal = _deploy(stacks, [EA, EB, {**ED, "quota": {"pods": 7}}])
    assert _ran(removal) == {"tenant-ec": "destroy", "tenant-ea": "up"}
    assert removal["tenant-ea"].changes == {"delete": 1}
    assert {s: _state(stacks, s) for s in before} == before
    assert not live.has_network_policy(kube, "ea", "tenancy-allow-to-ec")
    assert live.has_namespace(kube, "ec") and live.has_network_policy(kube, "ec", "tenancy-default-deny")
    assert not list((stacks.work_root.parent / "state").rglob("tenant-ec.json"))

    # 6. Clean up what this test owns in the shared control plane: every stack destroyed (the
    #    placement policy goes, the namespaces stay).
    for name in ("tenant-ea", "tenant-eb", "tenant-ed", "platform"):
        assert stacks.open(name).destroy(color="never").summary.result == "succeeded"
    assert not kube.exists(policy)


GA = tenant("ga", 20, allowFrom=["gb"])
GB = tenant("gb", 21)
GC = tenant("gc", 22, allowFrom=["ga"])
GD = tenant("gd", 23)
GF = tenant("gf", 5)


def test_grouped_tenant_stacks(stacks: TenantStacks, engine_control_plane: ControlPlane) -> None:
    """The default layout (10 slots a stack): onboarding a tenant runs only its group's stack, with
    creates only; removing one is an update of its group's stack that deletes only the edge half
    towards it, keeping its namespace and fences."""
    kube = engine_control_plane.client()
    grouped = TenantStacks(stacks.work_root.parent / "grouped", env=stacks.env,
                           kubeconfig=str(engine_control_plane.kubeconfig_path), pulumi_root=stacks.pulumi_root)

    def deploy(tenants: list[dict[str, Any]]) -> dict[str, StackResult]:
        results = deploy_tenants(spec_with(copy.deepcopy(tenants)), grouped, parallel=2, per_stack=10)
        assert not [r for r in results if r.status == "failed"], results
        return {r.stack: r for r in results if r.op != "skipped"}

    first = deploy([GA, GB, GC, GF])
    assert set(first) == {"platform", "tenants-0020", "tenants-0000"}
    before = {s: _state(stacks, s) for s in ("platform", "tenants-0000")}
    onboard = deploy([GA, GB, GC, GD, GF])
    assert set(onboard) == {"tenants-0020"} and set(onboard["tenants-0020"].changes) == {"create"}
    assert {s: _state(stacks, s) for s in before} == before
    assert live.has_namespace(kube, "gd") and live.has_network_policy(kube, "gd", "tenancy-default-deny")
    removal = deploy([GA, GB, GD, GF])
    assert set(removal) == {"tenants-0020"} and set(removal["tenants-0020"].changes) == {"delete"}
    assert not live.has_network_policy(kube, "ga", "tenancy-allow-to-gc")
    assert live.has_namespace(kube, "gc") and live.has_network_policy(kube, "gc", "tenancy-default-deny")
    for name in ("tenants-0020", "tenants-0000", "platform"):
        assert grouped.open(name).destroy(color="never").summary.result == "succeeded"
