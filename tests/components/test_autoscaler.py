"""Autoscaling on the render (issue 22): the cluster-autoscaler's role, objects and the tags on every
node group's Auto Scaling group, judged against the RENDERED node groups (their labels, taints and
ASG names) and by the independent checkers; ``cluster.autoscaler: none`` as negative control (and
as the mode where ``desiredSize`` is managed)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import kubernetes_validate
import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review import operability
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import iam_checks, rbac
from tests.helpers.identity_render import cluster_identity_values

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TAG = "aws:autoscaling/tag:Tag"
ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
EFFECT = {"NO_SCHEDULE": "NoSchedule"}

TENANTS = [tenant("alpha", 0, nodes={"minSize": 0, "maxSize": 5, "desiredSize": 0}), tenant("beta", 1, tier="standard"),
           {"name": "p1", "pool": "shared", "tier": "premium"}]
POOLS = [{"name": "shared", "slot": 2}]


@pytest.fixture(scope="module")
def irsa() -> RenderResult:
    return render_spec(spec_with(TENANTS, nodePools=POOLS))


@pytest.fixture(scope="module")
def pod_identity() -> RenderResult:
    return render_spec(spec_with(TENANTS, nodePools=POOLS, identity={"mode": "podIdentity"}))


@pytest.fixture(scope="module")
def off() -> RenderResult:
    return render_spec(spec_with(TENANTS, nodePools=POOLS, cluster={"autoscaler": "none"}))


def _asg(group: dict[str, Any]) -> str:
    return str(group["outputs"]["resources"][0]["autoscalingGroups"][0]["name"])


def _tags_by_asg(render: RenderResult) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for t in render.of_type(TAG):
        out.setdefault(t["inputs"]["autoscalingGroupName"], {})[t["inputs"]["tag"]["key"]] = t["inputs"]["tag"]["value"]
    return out


def _finding(render: RenderResult, start: str, resources: list[dict[str, Any]] | None = None) -> operability.Finding:
    [f] = [f for f in operability.evaluate(render.spec, resources or render.resources) if f.name.startswith(start)]
    return f


def _obj(render: RenderResult, kind: str) -> dict[str, Any]:
    [o] = [o for o in render.manifests["platform"] if o["kind"] == kind and o["metadata"]["name"].startswith(
        "cluster-autoscaler")]
    return o


def test_every_node_group_asg_carries_discovery_and_its_own_labels_and_taints(irsa) -> None:
    groups = irsa.of_type(NODE_GROUP)
    assert len(groups) == 4  # system, alpha, beta, pool shared
    tags = _tags_by_asg(irsa)
    for g in groups:
        have = tags[_asg(g)]
        assert have.pop("k8s.io/cluster-autoscaler/enabled") == "true"
        assert have.pop("k8s.io/cluster-autoscaler/acme") == "owned"
        # exactly the group's rendered labels and taints, in the autoscaler's tag formats
        labels = {k.removeprefix("k8s.io/cluster-autoscaler/node-template/label/"): v for k, v in have.items()
                  if "/label/" in k}
        taints = {k.removeprefix("k8s.io/cluster-autoscaler/node-template/taint/"): v for k, v in have.items()
                  if "/taint/" in k}
        assert labels == g["inputs"]["labels"], g["name"]
        assert taints == {t["key"]: f"{t['value']}:{EFFECT[t['effect']]}" for t in g["inputs"]["taints"]}, g["name"]
        assert len(have) == len(labels) + len(taints)
    assert all(t["inputs"]["tag"]["propagateAtLaunch"] is False for t in irsa.of_type(TAG))
    # The tags are the tenant's own (per-tenant resources, removed with it).
    alpha_asg = _asg(next(g for g in groups if g["tenant"] == "alpha"))
    assert {t["tenant"] for t in irsa.of_type(TAG) if t["inputs"]["autoscalingGroupName"] == alpha_asg} == {"alpha"}
    assert _finding(irsa, "cluster-autoscaler → every node group").status == "ok"


def test_a_missing_taint_tag_is_caught(irsa) -> None:
    """Negative control of the operability check: drop alpha's taint tag."""
    resources = [r for r in irsa.resources if not (r["type"] == TAG and r["tenant"] == "alpha" and
                                                     "/taint/" in r["inputs"]["tag"]["key"])]
    f = _finding(irsa, "cluster-autoscaler → every node group", resources)
    assert f.status == "missing" and "alpha" in f.detail


def test_desired_size_is_the_autoscalers_with_it_and_managed_without(irsa, off) -> None:
    for g in irsa.of_type(NODE_GROUP):
        assert g["ignoreChanges"] == ["scalingConfig.desiredSize"], g["name"]
    for g in off.of_type(NODE_GROUP):
        assert "scalingConfig.desiredSize" not in (g["ignoreChanges"] or []), g["name"]
    assert _finding(irsa, "node groups' desiredSize").status == "ok"
    assert _finding(off, "node groups' desiredSize").status == "ok"
    # Negative control: a render that ignores desiredSize with nothing to scale is caught.
    stale = copy.deepcopy(off.resources)
    next(r for r in stale if r["type"] == NODE_GROUP)["ignoreChanges"] = ["scalingConfig.desiredSize"]
    assert _finding(off, "node groups' desiredSize", stale).status == "missing"


def test_off_renders_no_autoscaler_at_all(off, irsa) -> None:
    assert off.of_type(TAG) == []
    assert not [r for r in off.resources if "cluster-autoscaler" in r["name"]]
    assert [r for r in irsa.resources if r["type"] == "kubernetes:apps/v1:Deployment"]
    assert len(irsa.of_type(ROLE)) == len(off.of_type(ROLE)) + 1


def test_irsa_role_trusts_only_its_service_account_and_scales_only_this_cluster(irsa) -> None:
    [role] = [r for r in irsa.of_type(ROLE) if r["name"] == "acme_cluster-autoscaler"]
    eks = next(r for r in irsa.resources if r["type"] == "eks:index:Cluster")
    issuer = eks["outputs"]["oidcIssuer"].removeprefix("https://")
    assert iam_checks.irsa_trust_problems(
        role["inputs"]["assumeRolePolicy"], provider_arn=eks["outputs"]["oidcProviderArn"], issuer=issuer,
        namespace="kube-system", service_account="cluster-autoscaler") == []
    [policy] = [p for p in irsa.of_type(POLICY) if p["inputs"]["role"] == role["inputs"]["name"]]
    doc = json.loads(policy["inputs"]["policy"])
    own = "arn:aws:autoscaling:eu-west-1:111122223333:autoScalingGroup:x:autoScalingGroupName/eks-acme-alpha-x"
    tagged = {"aws:ResourceTag/k8s.io/cluster-autoscaler/acme": "owned",
              "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true"}
    assert iam_checks.allows(doc, "autoscaling:SetDesiredCapacity", own, tagged)
    foreign = {"aws:ResourceTag/k8s.io/cluster-autoscaler/other": "owned",
               "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true"}
    assert not iam_checks.allows(doc, "autoscaling:SetDesiredCapacity", own, foreign)
    # The ServiceAccount names the role; the Deployment waits for the policy.
    sa = _obj(irsa, "ServiceAccount")
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role["outputs"]["arn"]
    [deployment] = irsa.of_type("kubernetes:apps/v1:Deployment")
    assert policy["urn"] in deployment["dependencies"]


def test_pod_identity_role_is_associated_and_trusts_only_this_cluster(pod_identity) -> None:
    [role] = [r for r in pod_identity.of_type(ROLE) if r["name"] == "acme_cluster-autoscaler"]
    assert iam_checks.pod_identity_trust_problems(
        role["inputs"]["assumeRolePolicy"], namespace="kube-system", service_account="cluster-autoscaler",
        cluster_key="eks-cluster-arn", cluster=cluster_identity_values(pod_identity.spec)["cluster_arn"]) == []
    [assoc] = [a for a in pod_identity.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
               if a["inputs"]["serviceAccount"] == "cluster-autoscaler"]
    assert assoc["inputs"]["namespace"] == "kube-system" and assoc["inputs"]["roleArn"] == role["outputs"]["arn"]
    assert "annotations" not in _obj(pod_identity, "ServiceAccount")["metadata"]
    [deployment] = pod_identity.of_type("kubernetes:apps/v1:Deployment")
    agent = next(a for a in pod_identity.of_type("aws:eks/addon:Addon")
                 if a["inputs"]["addonName"] == "eks-pod-identity-agent")
    assert agent["urn"] in deployment["dependencies"]
    assert _finding(pod_identity, "cluster-autoscaler → runs on the system nodes").status == "ok"


def test_deployment_runs_on_the_rendered_system_nodes(irsa) -> None:
    [system] = [g for g in irsa.of_type(NODE_GROUP) if g["inputs"]["labels"].get("tenancy/pool") == "system"]
    d = _obj(irsa, "Deployment")
    pod = d["spec"]["template"]["spec"]
    assert all(system["inputs"]["labels"].get(k) == v for k, v in pod["nodeSelector"].items())
    for t in system["inputs"]["taints"]:
        assert any(x["key"] == t["key"] and x["effect"] == EFFECT[t["effect"]] for x in pod["tolerations"])
    # and on NO tenant's or pool's nodes: each of them has a taint it does not tolerate
    for g in irsa.of_type(NODE_GROUP):
        if g is not system:
            assert not all(any(x["key"] == t["key"] for x in pod["tolerations"]) for t in g["inputs"]["taints"])
    [deployment] = irsa.of_type("kubernetes:apps/v1:Deployment")
    assert system["urn"] in deployment["dependencies"]
    # ... but not the priorities ConfigMap, which a tenant change replaces (its replacement must not
    # take the Deployment with it); the RBAC it needs, yes
    [cm] = irsa.of_type("kubernetes:core/v1:ConfigMap")
    [role] = irsa.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    assert cm["urn"] not in deployment["dependencies"] and role["urn"] in deployment["dependencies"]
    assert pod["containers"][0]["image"] == "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.6"
    assert {"name": "AWS_REGION", "value": "eu-west-1"} in pod["containers"][0]["env"]


def test_rendered_objects_are_valid_and_rbac_stays_off_the_fences(irsa) -> None:
    objs = [o for o in irsa.manifests["platform"] if o["metadata"].get("name", "").startswith("cluster-autoscaler")]
    assert {o["kind"] for o in objs} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                                         "ConfigMap", "Deployment"}
    for o in objs:
        kubernetes_validate.validate(o, "1.33.0", strict=True)
    for kind in ("ClusterRole", "Role"):
        rules = _obj(irsa, kind)["rules"]
        for group, resource in rbac.FENCES:
            for verb in rbac.WRITE_VERBS:
                assert not rbac.allows(rules, verb, group, resource), (kind, verb, group, resource)


def test_priority_expander_orders_the_rendered_groups_by_tier(irsa) -> None:
    cm = _obj(irsa, "ConfigMap")
    assert cm["metadata"] == {**cm["metadata"], "name": "cluster-autoscaler-priority-expander",
                              "namespace": "kube-system"}
    import yaml

    priorities = yaml.safe_load(cm["data"]["priorities"])

    def level(asg: str) -> int:
        return max(k for k, pats in priorities.items() if any(re.search(p, asg) for p in pats))

    by = {(g["tenant"] or g["inputs"]["labels"].get("tenancy/pool")): level(_asg(g)) for g in irsa.of_type(NODE_GROUP)}
    # system first; alpha (premium) and the pool hosting premium p1 next; standard beta last —
    # all through their own expressions, not the catch-all.
    assert by == {"system": 30, "alpha": 20, "shared": 20, "beta": 10}


def test_flows_of_the_autoscaler_are_open(irsa) -> None:
    assert _finding(irsa, "cluster-autoscaler → Kubernetes API").status == "ok"
    # Negative control: without the system nodes' internet egress rule the NAT path is gone.
    egress = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
    resources = [r for r in irsa.resources if not (r["type"] == egress and r["inputs"].get("cidrIpv4") == "0.0.0.0/0"
                                                   and "system" in r["name"])]
    f = _finding(irsa, "cluster-autoscaler → Kubernetes API", resources)
    assert f.status == "missing" and "tcp/443 to the internet" in f.detail


def test_per_tenant_autoscaler_resources_do_not_grow_with_the_platform() -> None:
    def count(n: int) -> int:
        result = render_spec(spec_with([tenant(f"t{i:02d}", i) for i in range(n)]))
        return len([r for r in result.for_tenant("t00") if r["type"] == TAG])

    assert count(2) == count(12) == 4
