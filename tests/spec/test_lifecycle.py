"""Tenant lifecycle: two-phase off-boarding, retired names and slots, adoption — each proved on
the render (which URNs disappear, which stay unchanged), in the style of tests/components/test_platform.py."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy import cli
from tenancy.plan.validate import load_platform
from tenancy.render import RenderResult, render_spec
from tenancy.spec import SpecError
from tenancy.spec.lifecycle import transition_problems
from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with, tenant

# What phase one of off-boarding may remove: the tenant's people's access, its workload roles,
# its nodes — and nothing else.
OFFBOARDED_TYPES = {
    "aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate", "aws:iam/role:Role",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy",
    "aws:eks/accessEntry:AccessEntry", "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "tenancy:cluster:TenantNodeGroup", "tenancy:cluster:TenantAccess", "tenancy:identity:TenantIdentity",
    "aws:autoscaling/tag:Tag",  # the node group's Auto Scaling group tags (cluster-autoscaler), gone with it
}
PRIORITY_EXPANDER = ("kubernetes:core/v1:ConfigMap", "acme_cluster-autoscaler-configmap")
"""The cluster-autoscaler's priority expander names every node group: the off-boarded tenant's
line goes with its nodes (checked below); nothing else of it changes."""


def _key(r: dict[str, Any]) -> tuple[str, str]:
    return r["type"], r["name"]


def _index(result: RenderResult) -> dict[tuple[str, str], dict[str, Any]]:
    return {_key(r): r for r in result.resources}


def _with(tenants: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return spec_with(copy.deepcopy(tenants), **extra)


@pytest.fixture(scope="module")
def renders() -> dict[str, RenderResult]:
    beta_off = {**BETA, "offboarding": True}
    alpha_no_beta = {**ALPHA, "allowFrom": []}
    return {
        "before": render_spec(_with([ALPHA, BETA, GAMMA])),
        "offboarding": render_spec(_with([ALPHA, beta_off, GAMMA])),
        "retired": render_spec(_with([alpha_no_beta, GAMMA], retiredTenants=[{"name": "beta", "slot": 1}])),
    }


def test_offboarding_removes_only_access_roles_and_nodes_of_that_tenant(renders) -> None:
    a, b = _index(renders["before"]), _index(renders["offboarding"])
    gone = [k for k in a if k not in b]
    assert gone and not [k for k in b if k not in a], "off-boarding must only remove resources"
    assert {a[k]["tenant"] for k in gone} == {"beta"}, "off-boarding touched another tenant or the platform"
    assert {k[0] for k in gone} <= OFFBOARDED_TYPES, sorted({k[0] for k in gone} - OFFBOARDED_TYPES)
    # Each thing phase one must remove is indeed gone.
    assert ("aws:eks/nodeGroup:NodeGroup", "beta-nodes") in gone
    assert {k for k in gone if k[0] == "aws:iam/role:Role"} >= {("aws:iam/role:Role", "acme.beta.api"),
                                                                 ("aws:iam/role:Role", "acme.beta.worker")}
    assert any(k[0] == "aws:eks/accessEntry:AccessEntry" and "beta-devs" in k[1] for k in gone)


def test_offboarding_keeps_namespace_fences_subnets_and_data_and_changes_nobody_else(renders) -> None:
    a, b = _index(renders["before"]), _index(renders["offboarding"])
    for k, r in a.items():
        if k not in b:
            continue
        if r["tenant"] != "beta" and k != PRIORITY_EXPANDER:
            assert r["inputs"] == b[k]["inputs"], f"{k} changed"
    before = a[PRIORITY_EXPANDER]["inputs"]["data"]["priorities"].splitlines()
    after = b[PRIORITY_EXPANDER]["inputs"]["data"]["priorities"].splitlines()
    assert [line for line in after if line not in before] == []
    assert [line for line in before if line not in after] == [line for line in before if "acme-beta-" in line] != []
    kept = {k for k in b if b[k]["tenant"] == "beta"}
    assert ("kubernetes:core/v1:Namespace", "beta") in kept
    assert b[("kubernetes:core/v1:Namespace", "beta")]["retainOnDelete"]
    for policy in ("tenancy-default-deny", "tenancy-allow-dns"):
        assert ("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"beta/{policy}") in kept
    assert ("kubernetes:core/v1:ResourceQuota", "beta/tenancy-quota") in kept
    assert any(k[0] == "aws:ec2/subnet:Subnet" for k in kept)
    # The data: the shared bucket and key are untouched (nothing of the bucket is per tenant).
    for typ in ("aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:s3/bucketPolicy:BucketPolicy"):
        [x] = [r for r in renders["before"].resources if r["type"] == typ and r["tenant"] is None
               and "tenant-data" in r["name"]]
        assert x["inputs"] == b[_key(x)]["inputs"]
    # The service accounts stay, without their (deleted) roles.
    sa = b[("kubernetes:core/v1:ServiceAccount", "beta/api")]
    assert "eks.amazonaws.com/role-arn" not in (sa["inputs"]["metadata"].get("annotations") or {})


def test_retiring_after_offboarding_removes_the_rest_and_retains_the_namespace(renders) -> None:
    a, b = _index(renders["offboarding"]), _index(renders["retired"])
    gone = [k for k in a if k not in b]
    assert {a[k]["tenant"] for k in gone} <= {"beta", "alpha"}
    # alpha only loses its edge from beta (alpha's allowFrom no longer names it).
    assert all("allow-from/beta" in k[1] or "from-beta" in k[1] or "beta-to-" in k[1] or "to-alpha" in k[1]
               for k in gone if a[k]["tenant"] == "alpha"), [k for k in gone if a[k]["tenant"] == "alpha"]
    ns = a[("kubernetes:core/v1:Namespace", "beta")]
    assert ns["retainOnDelete"], "the namespace (the tenant's data) must be retained when the tenant goes"
    children = [r for k, r in a.items() if r["tenant"] == "beta" and r["type"].startswith("kubernetes:")
                and r is not ns and r["type"] != "kubernetes:core/v1:ServiceAccountPatch"]
    assert children and all(r["deletedWith"] == ns["urn"] for r in children if "allow-" not in r["name"])


def test_transition_requires_offboarding_then_retirement() -> None:
    before = {"tenants": {"alpha": {"slot": 0, "offboarding": False}, "beta": {"slot": 1, "offboarding": False}}}
    removed = load_platform(spec_with([tenant("alpha", 0)]))
    msgs = [str(p) for p in transition_problems(before, removed)]
    assert any("add it here" in m and "{name: beta, slot: 1}" in m for m in msgs), msgs
    assert any("without being off-boarded first" in m for m in msgs), msgs
    after_offboarding = {"tenants": {**before["tenants"], "beta": {"slot": 1, "offboarding": True}}}
    retired = load_platform(spec_with([tenant("alpha", 0)], retiredTenants=[{"name": "beta", "slot": 1}]))
    assert transition_problems(after_offboarding, retired) == []
    moved = load_platform(spec_with([tenant("alpha", 2), tenant("beta", 1)]))
    assert any("slot never changes" in str(p) for p in transition_problems(before, moved))


def test_a_slot_freed_by_a_move_to_a_pool_is_not_taken_in_the_same_change() -> None:
    """alpha moves from slot 0 to a pool; gamma may not take slot 0 in the same change (alpha's subnets on
    that block are deleted only at the end of the update), but may in the next one."""
    before = {"tenants": {"alpha": {"slot": 0, "offboarding": False}, "beta": {"slot": 1, "offboarding": False}}}
    pools = [{"name": "shared", "slot": 5}]
    taken = load_platform(spec_with([{"name": "alpha", "pool": "shared"}, tenant("beta", 1), tenant("gamma", 0)],
                                    nodePools=pools))
    problems = transition_problems(before, taken)
    assert [p.path for p in problems] == ["tenants[2].slot"]
    assert "belonged to 'alpha' in the previous render" in problems[0].message
    # negative controls: the move alone, another free slot, and the reuse one change later are fine
    moved = load_platform(spec_with([{"name": "alpha", "pool": "shared"}, tenant("beta", 1)], nodePools=pools))
    assert transition_problems(before, moved) == []
    elsewhere = load_platform(spec_with([{"name": "alpha", "pool": "shared"}, tenant("beta", 1),
                                         tenant("gamma", 2)], nodePools=pools))
    assert transition_problems(before, elsewhere) == []
    later = {"tenants": {"alpha": {"slot": None, "offboarding": False}, "beta": {"slot": 1, "offboarding": False}}}
    assert transition_problems(later, taken) == []


@pytest.mark.parametrize(
    ("tenants", "retired", "path", "words"),
    [
        ([tenant("gamma", 1)], [{"name": "beta", "slot": 1}], "tenants[0].slot", ["retired tenant 'beta'", "slot 1"]),
        ([tenant("beta", 4)], [{"name": "beta", "slot": 1}], "tenants[0].name", ["adopt: true", "retiredTenants[0]"]),
        ([tenant("a", 0)], [{"name": "b", "slot": 1}, {"name": "b", "slot": 2}], "retiredTenants[1].name",
         ["already retired"]),
    ],
)
def test_retired_names_and_slots_are_not_reused(tenants, retired, path, words) -> None:
    with pytest.raises(SpecError) as err:
        load_platform(spec_with(tenants, retiredTenants=retired))
    [p] = [p for p in err.value.problems if p.path == path]
    assert all(w in str(p) for w in words), str(p)


def test_adopt_allows_a_retired_name_on_a_new_slot_and_updates_in_place() -> None:
    data = spec_with([tenant("beta", 4, adopt=True)], retiredTenants=[{"name": "beta", "slot": 1}])
    load_platform(data)
    result = render_spec(data)
    [provider] = [r for r in result.resources if r["type"] == "pulumi:providers:kubernetes" and r["tenant"] == "beta"]
    assert provider["inputs"].get("upsertExistingObjects") in (True, "true")
    ns = result.find("kubernetes:core/v1:Namespace", "beta")
    assert ns["provider"].startswith(provider["urn"])


def test_the_free_slot_hint_never_suggests_a_retired_slot() -> None:
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant("a", 0), tenant("b", 0)], retiredTenants=[{"name": "x", "slot": 1}]))
    [p] = [p for p in err.value.problems if p.path == "tenants[1].slot" and "already taken" in p.message]
    assert "a free one: 2" in p.message


def _stack(path: Path, platform: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"config": {"aws:region": "eu-west-1", "tenancy:platform": platform}}))
    return path


def test_render_refuses_a_tenant_removed_without_offboarding_and_retirement(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    cfg = tmp_path / "Pulumi.dev.yaml"
    assert cli.main(["render", "--config", str(_stack(cfg, spec_with([tenant("a", 0), tenant("b", 1)]))),
                     "--out", str(out), "--quiet"]) == 0
    assert cli.main(["render", "--config", str(_stack(cfg, spec_with([tenant("a", 0)]))), "--out", str(out),
                     "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "retiredTenants: tenant 'b' (slot 1) was removed" in err and "offboarding: true" in err
    assert cli.main(["validate", "--config", str(cfg), "--previous", str(out)]) == 2  # the same check, no render
    assert cli.main(["validate", "--config", str(cfg), "--previous", str(tmp_path)]) == 64  # not a render dir
    assert cli.main(["render", "--config", str(cfg), "--out", str(tmp_path / "other"), "--quiet"]) == 0  # no history
    assert cli.main(["render", "--config", str(cfg), "--out", str(out), "--quiet", "--no-lifecycle-check"]) == 0
    assert cli.main(["render", "--config", str(_stack(cfg, spec_with([tenant("a", 0), tenant("b", 1)]))),
                     "--out", str(out), "--quiet"]) == 0
    # Phase one, then phase two: accepted.
    offboarding = spec_with([tenant("a", 0), tenant("b", 1, offboarding=True)])
    assert cli.main(["render", "--config", str(_stack(cfg, offboarding)), "--out", str(out), "--quiet"]) == 0
    assert cli.main(["render", "--config", str(_stack(cfg, spec_with([tenant("a", 0)], retiredTenants=[
        {"name": "b", "slot": 1}]))), "--out", str(out), "--quiet"]) == 0
