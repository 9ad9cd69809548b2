"""Issue 22's lifecycle walk at size: one platform of 25 dedicated tenants (+ the system group)
through every day-2 change — create (1.33); upgrade to 1.34; change the instance type of every
group; add a pool; raise a group's minSize; grow to the node-group quota — each revision judged
by the plan it needs:

* the transition check against the previous render's lifecycle record (``--previous``: version
  skips and downgrades, a minSize above the previous desiredSize);
* no version skew: every node group at the control plane's version, the add-ons pinned for it;
* the peak number of managed node groups while the update runs (``tenancy diff`` /
  ``tenancy check --previous``, rule ``update-fits-quota``), the proposed ``--target`` batches
  applied in order as successive renders and each judged by the independent replay of Pulumi's
  update order (tests/review/test_fit.py ``_replay``), not by the formula that proposed them;
* the node-group quota of the spec (30 groups pass, the 31st is refused naming the fix);
* where AWS behaviour is involved, the cluster layer of a revision replayed into moto
  (tests/helpers/aws_replay_cluster.py): the node groups EKS holds run the cluster's version,
  and their Auto Scaling groups carry the cluster-autoscaler's discovery and node-template tags.

A negative control beside each refusal. The smaller walk (two tenants, graph order, lifecycle
record) is tests/plan/test_upgrade_lifecycle.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.plan import addons
from tenancy.plan.validate import load_platform
from tenancy.render import render_spec, write_render
from tenancy.render.result import RenderResult
from tenancy.review.diff import diff_renders, load_render, markdown
from tenancy.spec import SpecError
from tenancy.spec.lifecycle import read_lifecycle, transition_problems
from tenancy.spec.wire import AWS_EKS_ADDON, AWS_EKS_NODE_GROUP, EKS_COMPONENT
from tests.fixtures.specs import spec_with, tenant
from tests.plan.test_upgrade_lifecycle import _pooled
from tests.review.test_fit import _replay

TENANTS = 25
QUOTA = 30  # the EKS default 'Managed node groups per cluster'; the spec's default nodeGroupQuota
NEW_TYPE = "m7i.large"
POOL_SLOT = 28


def _create() -> dict[str, Any]:
    ts = [tenant(f"t{i:02d}", i, nodes={"instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 3,
                                        "desiredSize": 1}) for i in range(TENANTS)]
    return spec_with(ts, kubernetesVersion="1.33", tenantBlockPrefix=21, workloads={"storage": "ebs"})


def _retyped(data: dict[str, Any], names: set[str] | None = None, system: bool = True) -> dict[str, Any]:
    """Every tenant's group (or only ``names``') and, with ``system``, the system group on NEW_TYPE."""
    out = copy.deepcopy(data)
    for t in out["tenants"]:
        if names is None or t["name"] in names:
            t["nodes"]["instanceTypes"] = [NEW_TYPE]
    if system:
        out["cluster"] = {**out.get("cluster", {}), "systemNodes": {"instanceTypes": [NEW_TYPE], "minSize": 2,
                                                                    "maxSize": 4, "desiredSize": 2}}
    return out


def _with_pool(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["nodePools"] = [{"name": "shared", "slot": POOL_SLOT, "nodes": {"instanceTypes": ["m6i.2xlarge"],
                                                                        "minSize": 2, "maxSize": 4, "desiredSize": 3}}]
    out["tenants"] += [_pooled("p1", "shared"), _pooled("p2", "shared")]
    return out


def _pool_sizes(data: dict[str, Any], **sizes: int) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["nodePools"][0]["nodes"].update(sizes)
    return out


def _grown(data: dict[str, Any], more: int) -> dict[str, Any]:
    """``more`` dedicated tenants added, in the slots after the first 25 (the pool keeps its own)."""
    out = copy.deepcopy(data)
    slots = [s for s in range(TENANTS, 40) if s != POOL_SLOT][:more]
    out["tenants"] += [tenant(f"g{i}", s, nodes={"instanceTypes": [NEW_TYPE]}) for i, s in enumerate(slots)]
    return out


REVISIONS = ("created", "upgraded", "pooled", "desired", "raised", "grown")
"""The walk's revisions apart from the instance-type change, which runs as its own batches."""


class Walk:
    """Renders written once per revision (and per batch), in folders ``tenancy diff`` reads."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self.tmp = tmp
        self.specs: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, Path] = {}
        self.results: dict[str, RenderResult] = {}
        self.batches: list[list[str]] = []
        """The ``--target`` batches the diff proposed for the one-shot instance-type change."""

    def render(self, name: str, data: dict[str, Any], previous: str | None) -> Path:
        spec = load_platform(data)
        if previous is not None:  # what `tenancy check --previous` / the deploy refuse first
            assert transition_problems(read_lifecycle(self.folders[previous]) or {}, spec) == [], name
        result = render_spec(data, stack="dev")
        self.specs[name], self.results[name] = data, result
        self.folders[name] = write_render(result, self.tmp.mktemp(name))
        return self.folders[name]

    def diff(self, base: str, head: str) -> dict[str, Any]:
        return diff_renders(load_render(self.folders[base]), load_render(self.folders[head]))


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> Walk:
    w = Walk(tmp_path_factory)
    w.render("created", _create(), None)
    w.render("upgraded", {**copy.deepcopy(w.specs["created"]), "kubernetesVersion": "1.34"}, "created")
    w.render("retyped-at-once", _retyped(w.specs["upgraded"]), "upgraded")  # the one-shot update, refused below
    # the instance-type change as the diff proposes it: each --target batch its own render, then the rest
    ng = w.diff("upgraded", "retyped-at-once")["nodeGroups"]
    tenant_of = _tenant_of(w.results["retyped-at-once"])
    done: set[str] = set()
    previous = "upgraded"
    for k, batch in enumerate(ng["batches"]):
        done |= {tenant_of[u] for u in batch}
        w.render(f"batch{k}", _retyped(w.specs["upgraded"], done - {"system"}, system="system" in done), previous)
        previous = f"batch{k}"
    w.render("retyped", _retyped(w.specs["upgraded"]), previous)
    w.batches = ng["batches"]
    w.render("pooled", _with_pool(w.specs["retyped"]), "retyped")
    w.render("desired", _pool_sizes(w.specs["pooled"], desiredSize=4, maxSize=5), "pooled")
    w.render("raised", _pool_sizes(w.specs["desired"], minSize=4), "desired")
    w.render("grown", _grown(w.specs["raised"], 3), "raised")
    return w


def _tenant_of(result: RenderResult) -> dict[str, str]:
    """Node group URN → its tenant's name, the pool's, or ``system``."""
    out = {}
    for g in result.of_type(AWS_EKS_NODE_GROUP):
        tags = g["inputs"].get("tags") or {}
        out[g["urn"]] = tags.get("tenancy/tenant") or tags.get("tenancy/pool") or (
            "system" if g["name"].endswith("system-nodes") else g["name"])
    return out


def _groups(result: RenderResult) -> list[dict[str, Any]]:
    return result.of_type(AWS_EKS_NODE_GROUP)


# --------------------------------------------------------------------------------------------
# every revision: no version skew, add-ons for the version, the update's peak within the quota


STEPS = [("created", "upgraded"), ("retyped", "pooled"), ("pooled", "desired"), ("desired", "raised"),
         ("raised", "grown")]


@pytest.mark.parametrize("name", [*REVISIONS, "retyped"])
def test_every_revision_has_no_version_skew(walk: Walk, name: str) -> None:
    result, version = walk.results[name], walk.specs[name]["kubernetesVersion"]
    [cluster] = result.of_type(EKS_COMPONENT)
    assert cluster["inputs"]["version"] == version
    assert {g["inputs"]["version"] for g in _groups(result)} == {version}
    installed = {a["inputs"]["addonName"]: a["inputs"]["addonVersion"] for a in result.of_type(AWS_EKS_ADDON)}
    assert installed == {a: addons.render_placeholder(a, version) for a in (
        addons.VPC_CNI, addons.KUBE_PROXY, addons.COREDNS, addons.EBS_CSI_DRIVER)}


@pytest.mark.parametrize(("base", "head"), STEPS)
def test_each_step_fits_the_quota_while_it_runs(walk: Walk, base: str, head: str) -> None:
    d = walk.diff(base, head)
    ng = d["nodeGroups"]
    assert ng["fits"] and ng["peak"] <= QUOTA and d["summary"]["fits"] is not False, ng["problem"]
    assert max(_replay(ng["before"], [(ng["created"], ng["replaced"])])) == ng["peak"]  # the simulator agrees
    assert not ng["replaced"] and not ng["deleted"]  # none of these steps replaces or removes a group


def test_the_sizes_of_the_walk(walk: Walk) -> None:
    count = {n: len(_groups(walk.results[n])) for n in [*REVISIONS, "retyped"]}
    assert count == {"created": 26, "upgraded": 26, "retyped": 26, "pooled": 27, "desired": 27, "raised": 27,
                     "grown": QUOTA}
    assert walk.diff("raised", "grown")["nodeGroups"]["peak"] == QUOTA  # exactly the quota: passes


# --------------------------------------------------------------------------------------------
# create -> 1.34


def test_the_upgrade_is_an_upgrade_in_place(walk: Walk) -> None:
    d = walk.diff("created", "upgraded")
    up = d["upgrade"]
    assert up["kubernetesVersion"] == {"from": "1.33", "to": "1.34"}
    assert up["nodeGroups"]["upgraded"] == up["nodeGroups"]["total"] == TENANTS + 1
    pin = addons.render_placeholder
    assert up["addons"] == {a: {"from": pin(a, "1.33"), "to": pin(a, "1.34")}
                            for a in (addons.VPC_CNI, addons.KUBE_PROXY, addons.COREDNS, addons.EBS_CSI_DRIVER)}
    assert set(d["summary"]["resources"]) == {"update"}  # nothing replaced, created or deleted
    assert d["summary"]["loosened"] == d["summary"]["tightened"] == 0
    assert (d["nodeGroups"]["peak"], d["nodeGroups"]["fits"]) == (TENANTS + 1, True)
    assert f"{TENANTS + 1} of {TENANTS + 1} move to 1.34" in markdown(d)


def _version_problems(walk: Walk, previous: str, version: str) -> list[str]:
    data = {**walk.specs[previous], "kubernetesVersion": version}
    return [str(p) for p in transition_problems(read_lifecycle(walk.folders[previous]) or {}, load_platform(data))]


def test_negative_controls_a_skipped_minor_and_a_downgrade(walk: Walk) -> None:
    (skip,) = _version_problems(walk, "created", "1.35")
    assert "1.33 -> 1.35 skips 1 minor version(s)" in skip and 'set kubernetesVersion: "1.34"' in skip
    (down,) = _version_problems(walk, "upgraded", "1.33")
    assert "1.33 is older than 1.34" in down and "EKS never downgrades" in down
    assert _version_problems(walk, "created", "1.34") == [] and _version_problems(walk, "upgraded", "1.34") == []


# --------------------------------------------------------------------------------------------
# every group to another instance type


def test_the_one_shot_instance_type_change_is_refused_with_batches(walk: Walk) -> None:
    d = walk.diff("upgraded", "retyped-at-once")
    ng = d["nodeGroups"]
    # instance_types is ForceNew: 26 new groups beside the 26 old ones until the update's end
    assert (ng["before"], ng["peak"], ng["after"], ng["fits"]) == (26, 52, 26, False)
    assert len(ng["replaced"]) == 26 and d["upgrade"] is None
    assert "52 managed node groups at its peak" in ng["problem"] and "pulumi up --target" in ng["problem"]
    assert _replay(26, [([], ng["replaced"])]) == [52]  # the independent replay: over 30 too
    # each batch fits, and so does the plain update after them, replayed in order
    rest = [u for u in ng["replaced"] if not any(u in b for b in ng["batches"])]
    assert max(_replay(26, [([], b) for b in ng["batches"]] + [([], rest)])) <= QUOTA


def test_the_cli_refuses_the_one_shot_update(walk: Walk, capsys: pytest.CaptureFixture[str]) -> None:
    base, head = str(walk.folders["upgraded"]), str(walk.folders["retyped-at-once"])
    assert main(["diff", base, head]) == 3
    assert "52 managed node groups at its peak" in capsys.readouterr().err
    assert main(["check", head, "--previous", base, "--format", "json"]) == 3
    assert '"update-fits-quota"' in capsys.readouterr().out
    # control: the first batch, as its own update, passes the same command
    assert main(["check", str(walk.folders["batch0"]), "--previous", base, "--format", "json"]) == 0
    capsys.readouterr()


def test_each_batch_applied_in_order_fits_judged_by_the_replay(walk: Walk) -> None:
    batches = walk.batches
    names = ["upgraded", *[f"batch{k}" for k in range(len(batches))], "retyped"]
    assert len(batches) >= 2
    for k, (base, head) in enumerate(zip(names, names[1:], strict=False)):
        ng = walk.diff(base, head)["nodeGroups"]
        if k < len(batches):  # the render replaces exactly the groups of the proposed batch
            assert ng["replaced"] == sorted(batches[k]), head
        assert not ng["created"] and not ng["deleted"]
        [peak] = _replay(ng["before"], [([], ng["replaced"])])
        assert peak <= QUOTA and ng["fits"], (head, peak)
    # after the batches the platform is the one-shot update's result
    final = {g["urn"]: g["inputs"]["instanceTypes"] for g in _groups(walk.results["retyped"])}
    assert final == {g["urn"]: g["inputs"]["instanceTypes"] for g in _groups(walk.results["retyped-at-once"])}
    assert set(map(tuple, final.values())) == {(NEW_TYPE,)}


# --------------------------------------------------------------------------------------------
# a pool; a raised minSize; grown to the quota


def test_min_size_above_the_previous_desired_size_is_refused(walk: Walk) -> None:
    data = _pool_sizes(walk.specs["pooled"], minSize=4, desiredSize=4, maxSize=5)  # desired 3 before
    (msg,) = [str(p) for p in transition_problems(read_lifecycle(walk.folders["pooled"]) or {}, load_platform(data))]
    assert msg.startswith("nodePools[0].nodes.minSize: minSize 2 -> 4 is above the group's desired size 3")
    assert "aws eks update-nodegroup-config --scaling-config desiredSize=4" in msg
    # control: the walk raised desiredSize first ("desired"), then minSize ("raised") — both passed
    assert walk.specs["raised"]["nodePools"][0]["nodes"]["minSize"] == 4
    record = read_lifecycle(walk.folders["raised"]) or {}
    assert record["nodeGroups"]["pool/shared"] == {"minSize": 4, "desiredSize": 4, "maxSize": 5}


def test_the_31st_group_is_refused_naming_the_fix(walk: Walk) -> None:
    with pytest.raises(SpecError) as err:
        load_platform(_grown(walk.specs["raised"], 4))
    (problem,) = [p for p in err.value.problems if "nodeGroupQuota" in p.message]
    assert problem.path == "tenants"
    assert "29 dedicated tenants and 1 node pools need 31 managed node groups" in problem.message
    assert "over nodeGroupQuota 30" in problem.message and "shared nodePools" in problem.message
    assert "Service Quotas" in problem.message
    load_platform(_grown(walk.specs["raised"], 3))  # control: 30 passes (the walk's last revision)
    # and a raised quota takes the 31st
    load_platform({**_grown(walk.specs["raised"], 4), "nodeGroupQuota": 31})


# --------------------------------------------------------------------------------------------
# the AWS emulator: the revisions replayed into moto


def _replay_into_moto(server: Any, result: RenderResult) -> Any:
    from tests.components.test_cluster_replay import _replay as replay_cluster
    from tests.helpers.cluster_render import NetworkIds

    return replay_cluster(server, (result, NetworkIds.from_outputs(result.stack_outputs)))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["created", "upgraded", "grown"])
def test_replayed_node_groups_run_the_cluster_version_with_autoscaler_tags(moto_server: Any, walk: Walk,
                                                                          name: str) -> None:
    result, version = walk.results[name], walk.specs[name]["kubernetesVersion"]
    ctx = _replay_into_moto(moto_server, result)  # the replay's own checks include no version skew
    eks, asg = ctx.client("eks"), ctx.client("autoscaling")
    assert eks.describe_cluster(name="acme")["cluster"]["version"] == version
    names = eks.list_nodegroups(clusterName="acme")["nodegroups"]
    assert len(names) == len(_groups(result))
    groups = {g["AutoScalingGroupName"]: g for g in asg.describe_auto_scaling_groups()["AutoScalingGroups"]}
    assert len(groups) == len(names)
    for n in names:
        ng = eks.describe_nodegroup(clusterName="acme", nodegroupName=n)["nodegroup"]
        assert ng["version"] == version, n
        [g] = [groups[a["name"]] for a in ng["resources"]["autoScalingGroups"]]
        tags = {t["Key"]: t["Value"] for t in g["Tags"]}
        assert tags["k8s.io/cluster-autoscaler/enabled"] == "true" and tags["k8s.io/cluster-autoscaler/acme"] == "owned"
        assert any(k.startswith("k8s.io/cluster-autoscaler/node-template/taint/") for k in tags), n


@pytest.mark.slow
def test_negative_control_the_replay_sees_version_skew(moto_server: Any, walk: Walk) -> None:
    from tests.helpers import aws_replay_cluster as arc

    result = walk.results["upgraded"]
    skewed = copy.deepcopy(result.resources)
    victim = next(r for r in skewed if r["type"] == AWS_EKS_NODE_GROUP)
    victim["inputs"]["version"] = "1.33"
    bad = RenderResult(result.project, result.stack, result.platform_spec, skewed, result.stack_outputs)
    with pytest.raises(arc.ReplayFailure, match=r"runs Kubernetes 1.33, the control plane 1.34"):
        _replay_into_moto(moto_server, bad)
