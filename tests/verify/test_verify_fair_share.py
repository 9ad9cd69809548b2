"""tenancy verify and issue 23: the admission probes ask for branch interfaces and a blocking
disruption budget (refused where the policies hold, failed where they are weakened), and every node
with a trunk reports a pod capacity its interfaces hold (a node that ignored the launch template's
maxPods fails). Dry-run admission itself on a real API server: tests/live/test_fair_share_live.py."""

from __future__ import annotations

import copy
from typing import Any

from tenancy.plan import pools as pool_plan
from tenancy.verify import kube as K
from tenancy.verify.report import FAIL, PASS
from tests.verify.test_verify_kube import FakeCluster
from tests.verify.test_verify_kube_pools import _cluster, _run, resources  # noqa: F401  (module fixture)

GREEDY = "dry-run create as beta's editor: pod asking for 37 more branch network interfaces"


def test_probes_ask_for_branch_interfaces_and_a_blocking_budget(resources: list[dict[str, Any]]) -> None:  # noqa: F811
    pools = K.tenant_pools(resources)
    pooled = {name: (must, obj) for name, must, obj in K.admission_probes("beta", ["alpha", "beta"], pools)}
    must, greedy = pooled["pod asking for 37 more branch network interfaces"]
    assert must is False and greedy["spec"]["containers"][1]["resources"]["requests"] == {
        "vpc.amazonaws.com/pod-eni": "37"}
    budget = next(obj for name, (m, obj) in pooled.items() if name.startswith("PodDisruptionBudget"))
    assert budget["spec"]["maxUnavailable"] == 0
    dedicated = {name: must for name, must, _ in K.admission_probes("alpha", ["alpha", "beta"], pools)}
    assert dedicated["pod asking for branch network interfaces (dedicated nodes)"] is False
    assert dedicated["LoadBalancer Service (no path reaches it)"] is False
    assert not any(n.startswith("PodDisruptionBudget") for n in dedicated)


def test_as_rendered_the_greedy_probe_is_refused(resources: list[dict[str, Any]]) -> None:  # noqa: F811
    assert GREEDY not in {o for _, _, o in _run(resources, _cluster(resources))}


def test_negative_control_a_policy_without_the_count_rules_fails_verify(
        resources: list[dict[str, Any]]) -> None:  # noqa: F811
    cluster = _cluster(resources)
    key = next(k for k in cluster.objs if k[1] == "ValidatingAdmissionPolicy" and k[3] == "tenancy-pod-placement")
    weak = copy.deepcopy(cluster.objs[key])
    weak["spec"]["validations"] = [v for v in weak["spec"]["validations"]
                                   if "podEniSingle" not in v["expression"]
                                   and "eniContainers) == 0" not in v["expression"]]
    cluster.put(weak)
    fails = _run(resources, cluster)
    assert ("behaviour.admission", "beta", GREEDY) in fails, fails


def _node(name: str, itype: str, pods: int, trunk: bool = True, pool: str | None = None) -> dict[str, Any]:
    labels = {K.INSTANCE_TYPE_LABEL: itype}
    if trunk:
        labels[K.TRUNK_LABEL] = "true"
    spec = {"taints": [{"key": "tenancy/pool", "value": pool, "effect": "NoSchedule"}]} if pool else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": spec,
            "status": {"capacity": {"pods": str(pods)}}}


def test_max_pods_of_nodes_with_a_trunk() -> None:
    cluster = FakeCluster([
        _node("ok", "m6i.large", 20),
        _node("eks-default", "m6i.large", 29),  # EKS's value without the trunk: too many
        _node("no-trunk", "m6i.large", 29, trunk=False),  # not judged
        _node("pool", "m6i.large", 29, pool="shared-a"),  # 20 + 9 branch pods
    ])
    results = {r.object.split(" ")[1]: r for r in K.max_pods_behaviour(cluster)}
    assert set(results) == {"ok", "eks-default", "pool"}
    assert results["ok"].status == PASS and results["pool"].status == PASS
    assert results["eks-default"].status == FAIL and "over the 20" in results["eks-default"].detail
    assert pool_plan.max_pods(pool_plan.branch_eni_table().types["m6i.large"], trunk=False) == 29
