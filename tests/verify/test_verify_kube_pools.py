"""tenancy verify's Kubernetes checks for POOLED tenants over the in-memory cluster of
tests/verify/test_verify_kube.py: the render's tenant beta made pooled the way the pooled render
shapes it (namespace labelled ``tenancy/pool``, the bundle's SecurityGroupPolicy). A deleted or
extra SecurityGroupPolicy and a removed pool label are found and name beta; the admission probes
of a pooled tenant select its pool. (Dry-run admission itself: tests/live/test_pool_live.py.)"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.render import render_spec
from tenancy.render.result import is_kubernetes_object, manifest_of
from tenancy.review.diff import Render
from tenancy.verify import kube as K
from tenancy.verify import verify
from tenancy.verify.report import FAIL
from tests.fixtures.specs import small_spec, spec_with
from tests.helpers.vap import admit
from tests.verify.test_verify_kube import FakeCluster, _server_defaults

NAMESPACE = "kubernetes:core/v1:Namespace"
SGP_TYPE = "kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy"
GROUPS = ["sg-0beta0000000000", "sg-0marker00000000"]
SGP_KEY = ("vpcresources.k8s.aws/v1beta1", "SecurityGroupPolicy", "beta", pk.SGP_NAME)


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    res = copy.deepcopy(render_spec(small_spec()).resources)
    ns = next(r for r in res if r["type"] == NAMESPACE and r.get("tenant") == "beta")
    ns["inputs"]["metadata"]["labels"].update({"tenancy/pool": "shared-a", "tenancy/tier": "standard"})
    spec = load_platform(spec_with([{"name": "beta", "pool": "shared-a"}], nodePools=[
        {"name": "shared-a", "slot": 4, "nodes": {"instanceTypes": ["m6i.large"]}}]))
    res.append({**copy.deepcopy(ns), "urn": ns["urn"].replace("Namespace::beta", "SecurityGroupPolicy::beta/sgp"),
                "type": SGP_TYPE, "name": f"beta/{pk.SGP_NAME}",
                "inputs": pk.security_group_policy(spec.tenants[0], GROUPS)})
    return res


class PolicyCluster(FakeCluster):
    """Dry-run pod creates judged by the rendered placement policy (cel-python, the API server's
    admission semantics: tests/helpers/vap.py) on the stored namespace, with the VPC resource
    controller's webhook applied first where a SecurityGroupPolicy selects every pod."""

    def dry_run_create(self, obj: Mapping[str, Any], user: str, groups: Sequence[str]) -> tuple[bool, int, str]:
        if obj["kind"] != "Pod" or "privileged" in str(obj):
            return False, 422, "denied request: fake"
        pod = copy.deepcopy(dict(obj))
        ns = pod["metadata"]["namespace"]
        if any(k[1] == "SecurityGroupPolicy" and k[2] == ns for k in self.objs):  # the webhook (HandleLinuxPod)
            pod["spec"]["containers"][0]["resources"] = {"requests": {"vpc.amazonaws.com/pod-eni": "1"},
                                                         "limits": {"vpc.amazonaws.com/pod-eni": "1"}}
        policy = next(o for k, o in self.objs.items() if k[1] == "ValidatingAdmissionPolicy"
                      and k[3] == "tenancy-pod-placement")
        binding = next(o for k, o in self.objs.items() if k[1] == "ValidatingAdmissionPolicyBinding"
                       and k[3] == "tenancy-pod-placement")
        d = admit(policy, binding, pod, self.objs[("v1", "Namespace", None, ns)], user=user)
        return (False, 422, "denied request: " + d.violations[0]) if d.denied else (True, 201, "")


def _cluster(resources: list[dict[str, Any]]) -> FakeCluster:
    return PolicyCluster([_server_defaults(manifest_of(r)) for r in resources if is_kubernetes_object(r)])


def _run(resources: list[dict[str, Any]], cluster: FakeCluster) -> list[tuple[str, str | None, str]]:
    report = verify(Render(Path("build/t"), "tenancy", "t", resources), kube=cluster)
    return sorted((r.check, r.tenant, r.object) for r in report.results if r.status == FAIL)


def test_as_rendered_every_check_holds(resources: list[dict[str, Any]]) -> None:
    assert _run(resources, _cluster(resources)) == []


def test_deleted_security_group_policy(resources: list[dict[str, Any]]) -> None:
    cluster = _cluster(resources)
    del cluster.objs[SGP_KEY]
    fails = _run(resources, cluster)
    assert ("drift.kubernetes", "beta", f"SecurityGroupPolicy beta/{pk.SGP_NAME}") in fails, fails
    assert any(c == "isolation" and t == "beta" and o.startswith("placement") for c, t, o in fails), fails
    # only beta is concerned (with the security-group model of pooled pods, its pods falling back to
    # node groups is also reported as network changes with beta as the peer)
    assert all(t == "beta" or "beta" in o for _, t, o in fails), fails


def test_extra_security_group_policy_adds_groups(resources: list[dict[str, Any]]) -> None:
    cluster = _cluster(resources)
    extra = copy.deepcopy(cluster.objs[SGP_KEY])
    extra["metadata"]["name"] = "wide-open"
    extra["spec"]["securityGroups"]["groupIds"] = ["sg-0wideopen0000000"]
    cluster.put(extra)
    fails = _run(resources, cluster)
    assert ("drift.kubernetes.extra", "beta", "SecurityGroupPolicy beta/wide-open") in fails, fails


def test_negative_control_admission_without_the_webhook(resources: list[dict[str, Any]]) -> None:
    """No SecurityGroupPolicy in beta's namespace (so no pod-eni from the webhook): the pinned
    probe is refused, and verify says the platform is not usable for beta."""
    cluster = _cluster(resources)
    del cluster.objs[SGP_KEY]
    fails = _run(resources, cluster)
    assert ("behaviour.admission", "beta",
            "dry-run create as beta's editor: pinned restricted pod (the platform must stay usable)") in fails


def test_removed_pool_label(resources: list[dict[str, Any]]) -> None:
    cluster = _cluster(resources)
    del cluster.objs[("v1", "Namespace", None, "beta")]["metadata"]["labels"]["tenancy/pool"]
    fails = _run(resources, cluster)
    assert ("drift.kubernetes", "beta", "Namespace beta") in fails, fails


def test_admission_probes_of_a_pooled_tenant(resources: list[dict[str, Any]]) -> None:
    pools = K.tenant_pools(resources)
    assert pools == {"beta": "shared-a"}
    probes = {name: (must, obj) for name, must, obj in K.admission_probes("beta", ["alpha", "beta", "gamma"], pools)}
    must, pinned = probes["pinned restricted pod (the platform must stay usable)"]
    assert must and pinned["spec"]["nodeSelector"] == {"tenancy/pool": "shared-a"}
    assert pinned["spec"]["tolerations"][0]["key"] == "tenancy/pool"
    assert "resources" not in pinned["spec"]["containers"][0]  # the SGP webhook must add pod-eni itself
    assert not probes["pod on beta's own tenant nodes (it is on pool shared-a)"][0]
    dedicated = {name: must for name, must, _ in K.admission_probes("alpha", ["alpha", "beta", "gamma"], pools)}
    assert dedicated["pod tolerating pool shared-a's taint"] is False
    assert "pod on pool shared-a" in dedicated
