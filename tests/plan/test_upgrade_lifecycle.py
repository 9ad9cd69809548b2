"""One platform through its revisions — create; upgrade 1.33 -> 1.34; every group to another
instance type; a pool added; a raised minSize — each step judged on the render it needs (the
versions every node group and add-on gets, the order the resource graph imposes, what
``tenancy diff`` calls it) and by the transition check against the previous render (``--previous``),
with a negative control for each refusal: a skipped minor, a downgrade, a minSize above the
previous desiredSize, a pool over its CPU.

The render runs the real stack program under the mock engine (:mod:`tenancy.render`); the
lifecycle record each step is checked against is the one ``tenancy render`` writes
(``lifecycle.json``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tenancy.plan import addons
from tenancy.plan.validate import load_platform
from tenancy.render import render_spec, write_render
from tenancy.render.result import RenderResult
from tenancy.review.diff import diff_renders, load_render, markdown
from tenancy.spec import SpecError
from tenancy.spec.lifecycle import read_lifecycle, transition_problems
from tenancy.spec.wire import AWS_EKS_ADDON, AWS_EKS_NODE_GROUP, EKS_COMPONENT
from tests.fixtures.specs import spec_with, tenant

NODE_GROUP, ADDON = AWS_EKS_NODE_GROUP, AWS_EKS_ADDON


def _pooled(name: str, pool: str) -> dict[str, Any]:
    return {"name": name, "pool": pool, "quota": {"cpu": "2", "memory": "4Gi", "pods": 6}}


def _create() -> dict[str, Any]:
    return spec_with([tenant("alpha", 0), tenant("beta", 1, nodes={"instanceTypes": ["m6i.large"], "minSize": 1,
                                                                   "maxSize": 4, "desiredSize": 2})],
                     kubernetesVersion="1.33", workloads={"storage": "ebs"})


def _upgraded(data: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(data), "kubernetesVersion": "1.34"}


def _retyped(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for t in out["tenants"]:
        t.setdefault("nodes", {"minSize": 1, "maxSize": 3, "desiredSize": 1})["instanceTypes"] = ["m7i.large"]
    out["cluster"] = {**out.get("cluster", {}), "systemNodes": {"instanceTypes": ["m7i.large"], "minSize": 2,
                                                                "maxSize": 4, "desiredSize": 2}}
    return out


def _with_pool(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["nodePools"] = [{"name": "shared", "slot": 5, "nodes": {"instanceTypes": ["m6i.2xlarge"], "minSize": 2,
                                                                 "maxSize": 4, "desiredSize": 3}}]
    out["tenants"] += [_pooled("p1", "shared"), _pooled("p2", "shared")]
    return out


def _raised_min(data: dict[str, Any], min_size: int) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["nodePools"][0]["nodes"]["minSize"] = min_size
    out["nodePools"][0]["nodes"]["desiredSize"] = max(min_size, out["nodePools"][0]["nodes"]["desiredSize"])
    return out


REVISIONS = ("created", "upgraded", "retyped", "pooled", "raised")


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], Path, RenderResult]]:
    """Each revision rendered into its own folder, after passing the transition check against the last."""
    specs: dict[str, dict[str, Any]] = {}
    specs["created"] = _create()
    specs["upgraded"] = _upgraded(specs["created"])
    specs["retyped"] = _retyped(specs["upgraded"])
    specs["pooled"] = _with_pool(specs["retyped"])
    specs["raised"] = _raised_min(specs["pooled"], 3)  # 3 <= the previous desiredSize 3
    out: dict[str, tuple[dict[str, Any], Path, RenderResult]] = {}
    previous: Path | None = None
    for name in REVISIONS:
        spec = load_platform(specs[name])
        if previous is not None:
            assert transition_problems(read_lifecycle(previous) or {}, spec) == [], name
        result = render_spec(specs[name], stack="dev")
        folder = write_render(result, tmp_path_factory.mktemp(name))
        out[name] = (specs[name], folder, result)
        previous = folder
    return out


def _by_urn(result: RenderResult) -> dict[str, dict[str, Any]]:
    return {r["urn"]: r for r in result.resources}


def _ancestors(result: RenderResult, urn: str) -> set[str]:
    """Every resource ``urn`` waits for: its dependencies, transitively (parents excluded)."""
    index, seen, todo = _by_urn(result), set(), [urn]
    while todo:
        for dep in index[todo.pop()]["dependencies"]:
            if dep not in seen and dep in index:
                seen.add(dep)
                todo.append(dep)
    return seen


@pytest.mark.parametrize("name", REVISIONS)
def test_no_version_skew_every_group_and_addon_follows_the_control_plane(walk, name) -> None:
    spec, _, result = walk[name]
    version = spec["kubernetesVersion"]
    [cluster] = result.of_type(EKS_COMPONENT)
    assert cluster["inputs"]["version"] == version
    groups = result.of_type(NODE_GROUP)
    assert len(groups) == 1 + len(spec["tenants"]) - sum(1 for t in spec["tenants"] if t.get("pool")) \
        + len(spec.get("nodePools", []))
    assert {g["inputs"]["version"] for g in groups} == {version}
    installed = {a["inputs"]["addonName"]: a["inputs"]["addonVersion"] for a in result.of_type(ADDON)}
    assert set(installed) == {addons.VPC_CNI, addons.KUBE_PROXY, addons.COREDNS, addons.EBS_CSI_DRIVER}
    assert installed == {a: addons.render_placeholder(a, version) for a in installed}
    # recorded in the stack outputs for the deploy to show what it installed
    assert result.stack_outputs["kubernetesVersion"] == version
    assert result.stack_outputs["addonVersions"] == installed


def test_the_graph_orders_control_plane_then_addons_then_node_groups(walk) -> None:
    _, _, result = walk["pooled"]
    [cluster] = result.of_type(EKS_COMPONENT)
    by_name = {a["inputs"]["addonName"]: a["urn"] for a in result.of_type(ADDON)}
    for urn in by_name.values():
        assert cluster["urn"] in _ancestors(result, urn)
    node_addons = {by_name[addons.VPC_CNI], by_name[addons.KUBE_PROXY]}  # DaemonSets every node needs
    for g in result.of_type(NODE_GROUP):
        waits = _ancestors(result, g["urn"])
        assert cluster["urn"] in waits and node_addons <= waits, g["name"]
    # CoreDNS and the EBS CSI controller are Deployments: they wait for the system nodes they run on
    system = next(g["urn"] for g in result.of_type(NODE_GROUP) if g["name"].endswith("system-nodes"))
    for a in (addons.COREDNS, addons.EBS_CSI_DRIVER):
        assert system in _ancestors(result, by_name[a])


def test_negative_control_the_graph_check_sees_a_missing_dependency(walk) -> None:
    _, _, result = walk["created"]
    group = result.of_type(NODE_GROUP)[0]
    stripped = RenderResult(result.project, result.stack, result.platform_spec,
                            [{**r, "dependencies": []} if r["urn"] == group["urn"] else r for r in result.resources],
                            result.stack_outputs)
    [cluster] = result.of_type(EKS_COMPONENT)
    assert cluster["urn"] not in _ancestors(stripped, group["urn"])


def test_diff_shows_the_upgrade_as_an_upgrade(walk) -> None:
    d = diff_renders(load_render(walk["created"][1]), load_render(walk["upgraded"][1]))
    up = d["upgrade"]
    assert up["kubernetesVersion"] == {"from": "1.33", "to": "1.34"}
    assert set(up["addons"]) == {addons.VPC_CNI, addons.KUBE_PROXY, addons.COREDNS, addons.EBS_CSI_DRIVER}
    assert up["nodeGroups"]["upgraded"] == up["nodeGroups"]["total"] == 3
    assert d["summary"]["loosened"] == 0 and d["summary"]["tightened"] == 0
    assert set(d["summary"]["resources"]) == {"update"}  # in place: nothing replaced, created or deleted
    text = markdown(d)
    assert "#### Kubernetes upgrade 1.33 → 1.34" in text and "3 of 3 move to 1.34" in text
    # not an upgrade: a change of instance types only
    later = diff_renders(load_render(walk["upgraded"][1]), load_render(walk["retyped"][1]))
    assert later["upgrade"] is None and "Kubernetes upgrade" not in markdown(later)


def test_lifecycle_record_carries_version_and_sizes(walk) -> None:
    record = json.loads((walk["pooled"][1] / "lifecycle.json").read_text())
    assert record["kubernetesVersion"] == "1.34"
    assert record["nodeGroups"]["pool/shared"] == {"minSize": 2, "desiredSize": 3, "maxSize": 4}
    assert record["nodeGroups"]["tenant/beta"]["desiredSize"] == 2 and "system" in record["nodeGroups"]


# --------------------------------------------------------------------------------------------
# the refusals, each against the walk's previous render


def _problems(walk, previous: str, data: dict[str, Any]) -> list[str]:
    return [str(p) for p in transition_problems(read_lifecycle(walk[previous][1]) or {}, load_platform(data))]


def test_skipping_a_minor_is_refused_with_the_next_step(walk) -> None:
    (msg,) = _problems(walk, "created", {**walk["created"][0], "kubernetesVersion": "1.35"})
    assert msg.startswith("kubernetesVersion: 1.33 -> 1.35 skips 1 minor version(s)")
    assert 'set kubernetesVersion: "1.34"' in msg
    assert _problems(walk, "created", {**walk["created"][0], "kubernetesVersion": "1.34"}) == []  # control


def test_a_downgrade_is_refused_naming_what_eks_runs(walk) -> None:
    (msg,) = _problems(walk, "upgraded", {**walk["upgraded"][0], "kubernetesVersion": "1.33"})
    assert "1.33 is older than 1.34" in msg and "EKS never downgrades" in msg
    assert "aws eks describe-cluster --query cluster.version" in msg
    assert _problems(walk, "upgraded", walk["upgraded"][0]) == []  # control: the same version


def test_min_size_above_the_previous_desired_size_is_refused(walk) -> None:
    (msg,) = _problems(walk, "pooled", _raised_min(walk["pooled"][0], 4))
    assert msg.startswith("nodePools[0].nodes.minSize: minSize 2 -> 4 is above the group's desired size 3")
    assert "Minimum capacity 4 can't be greater than desired size 3" in msg
    assert "aws eks update-nodegroup-config --scaling-config desiredSize=4" in msg
    # the same raise on a dedicated tenant's group, and the system group
    beta = copy.deepcopy(walk["pooled"][0])
    beta["tenants"][1]["nodes"].update(minSize=3, desiredSize=3)  # previous desired 2
    assert [m.split(":")[0] for m in _problems(walk, "pooled", beta)] == ["tenants[1].nodes.minSize"]
    # control: up to the previous desiredSize is fine (the walk's last step raised 2 -> 3)
    assert _problems(walk, "pooled", walk["raised"][0]) == []


def test_a_pool_over_its_cpu_is_refused_before_anything_is_rendered(walk) -> None:
    data = copy.deepcopy(walk["pooled"][0])
    data["tenants"] += [_pooled(f"q{i}", "shared") for i in range(14)]  # 16 × 2 CPU > 4 × 7.91
    with pytest.raises(SpecError) as err:
        load_platform(data)
    (problem,) = err.value.problems
    assert problem.path == "nodePools[0].nodes.maxSize"
    assert "the CPU quotas of its 16 tenant(s) add up to 32, over the 31.64 allocatable of maxSize 4 × 7.91" \
        in problem.message
    assert "raise maxSize to 5" in problem.message
    data["tenants"] = data["tenants"][:-1]  # control: 15 × 2 = 30 fits
    load_platform(data)


def test_a_resolved_vpc_cni_below_the_floor_fails_the_deploy() -> None:
    """EKS answering an old VPC CNI for the version (a Region lagging behind, say) stops the
    program with the floor and the fix, instead of installing a CNI without cluster network policies."""
    from tenancy.components.platform import Platform
    from tenancy.render.engine import RenderError
    from tenancy.testing import Mocks, run

    class OldCni(Mocks):
        def call(self, args):  # type: ignore[no-untyped-def]
            if args.token == "aws:eks/getAddonVersion:getAddonVersion" and args.args.get("addonName") == "vpc-cni":
                return {"version": "v1.20.4-eksbuild.1"}, []
            return super().call(args)

    spec = load_platform(_create())
    with pytest.raises(RenderError, match=r"vpc-cni EKS offers for Kubernetes 1.33 is v1.20.4-eksbuild.1, older than "
                                          r"v1.21.1"):
        run(lambda: Platform(spec.name, spec), mocks=OldCni())
    result = run(lambda: Platform(spec.name, spec))  # control: the default answer passes
    assert result.of_type(EKS_COMPONENT)


def test_pod_identity_agent_is_pinned_and_precedes_every_node_group() -> None:
    data = {**_create(), "identity": {"mode": "podIdentity"}}
    result = render_spec(data, stack="dev")
    [agent] = [a for a in result.of_type(ADDON) if a["inputs"]["addonName"] == addons.POD_IDENTITY_AGENT]
    assert agent["inputs"]["addonVersion"] == addons.render_placeholder(addons.POD_IDENTITY_AGENT, "1.33")
    for g in result.of_type(NODE_GROUP):
        assert agent["urn"] in _ancestors(result, g["urn"]), g["name"]
