"""The rendered log router (``observability.logs``): groups with KMS and retention, the key policy,
the router's and readers' IAM, the Kubernetes objects (kubernetes-validate), the operability
findings with their negative controls, and per-tenant cost.

The access decisions themselves are judged in moto with IAM enforcement
(tests/plan/test_logs_moto.py) and the routing by the collector binary
(tests/live/test_log_router_live.py)."""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest

from tenancy.plan import logs as lplan
from tenancy.render import RenderResult, render_spec
from tenancy.review import operability
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import iam_checks
from tests.helpers.identity_render import cluster_identity_values

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
ROUTER = "tenancy:observability:LogRouter"
ALICE = "arn:aws:iam::111122223333:role/alpha-viewers"
BOB = "arn:aws:iam::111122223333:role/beta-admins"
DEVS = "arn:aws:iam::111122223333:role/alpha-devs"
TENANTS = [tenant("alpha", 0, viewers=[ALICE], editors=[DEVS]), tenant("beta", 1, admins=[BOB]),
           tenant("gamma", 3), {"name": "p1", "pool": "shared", "editors": [BOB]}]
POOLS = [{"name": "shared", "slot": 2}]
LOGS = {"logs": {"enabled": True, "retentionDays": 30}}


@pytest.fixture(scope="module")
def irsa() -> RenderResult:
    return render_spec(spec_with(TENANTS, nodePools=POOLS, observability=LOGS))


@pytest.fixture(scope="module")
def pod_identity() -> RenderResult:
    return render_spec(spec_with(TENANTS, nodePools=POOLS, observability=LOGS, identity={"mode": "podIdentity"}))


def _finding(render: RenderResult, start: str, resources: list[dict[str, Any]] | None = None) -> operability.Finding:
    [f] = [f for f in operability.evaluate(render.spec, resources or render.resources) if f.name.startswith(start)]
    return f


def _router_objects(render: RenderResult) -> list[dict[str, Any]]:
    ns = render.spec.observability.logs.namespace
    return [o for o in render.manifests["platform"]
            if o["metadata"].get("namespace") == ns or o["metadata"].get("name") == ns]


def test_off_by_default_renders_nothing() -> None:
    off = render_spec(spec_with(TENANTS, nodePools=POOLS))
    assert not off.of_type(ROUTER)
    assert not [g for g in off.of_type(GROUP) if g["inputs"]["name"].endswith("/containers")]
    assert all(f.status == "n/a" for f in operability.evaluate(off.spec, off.resources) if "log router" in f.name)


def test_each_tenant_has_its_own_encrypted_group_with_the_spec_retention(irsa: RenderResult) -> None:
    groups = {g["inputs"]["name"]: g for g in irsa.of_type(GROUP)}
    [key] = [k for k in irsa.of_type(KEY) if k["name"] == "acme-logs-key"]
    for t in irsa.spec.tenants:
        g = groups[f"/tenancy/acme/{t.name}/containers"]
        assert g["inputs"]["retentionInDays"] == 30
        assert g["inputs"]["kmsKeyId"] == key["outputs"]["arn"]
        assert g["inputs"]["tags"]["tenancy/tenant"] == t.name
    # the key lets CloudWatch Logs use it for exactly the tenant container groups
    policy = json.loads(key["inputs"]["policy"])
    [logs_stmt] = [s for s in policy["Statement"] if s["Principal"].get("Service") == "logs.eu-west-1.amazonaws.com"]
    pattern = logs_stmt["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    for name, g in groups.items():
        arn = g["outputs"]["arn"]
        assert iam_checks.iam_match(pattern, arn) == name.endswith("/containers"), name
    other_platform = "arn:aws:logs:eu-west-1:111122223333:log-group:/tenancy/other/a/containers"
    assert not iam_checks.iam_match(pattern, other_platform)


def test_readers_trust_exactly_their_tenants_people_and_read_exactly_their_group(irsa: RenderResult) -> None:
    roles = {r["inputs"]["name"]: r for r in irsa.of_type(ROLE)}
    people = {"alpha": sorted([DEVS, ALICE]), "beta": [BOB], "p1": [BOB]}
    assert "acme.gamma@logs-reader" not in roles  # nobody to assume it: no role
    for t, principals in people.items():
        role = roles[f"acme.{t}@logs-reader"]
        trust = json.loads(role["inputs"]["assumeRolePolicy"])
        assert [s["Principal"]["AWS"] for s in trust["Statement"]] == [principals]
        [policy] = [p for p in irsa.of_type(POLICY) if p["inputs"]["role"] == role["inputs"]["name"]]
        doc = json.loads(policy["inputs"]["policy"])
        for other in irsa.spec.tenants:
            group = f"arn:aws:logs:eu-west-1:111122223333:log-group:/tenancy/acme/{other.name}/containers"
            assert iam_checks.allows(doc, "logs:FilterLogEvents", group) == (other.name == t)
            assert iam_checks.allows(doc, "logs:GetLogEvents", f"{group}:log-stream:n") == (other.name == t)
        assert not iam_checks.allows(doc, "logs:PutLogEvents", "arn:aws:logs:eu-west-1:111122223333:log-group:x")


def test_router_role_trusts_only_its_service_account(irsa: RenderResult, pod_identity: RenderResult) -> None:
    [role] = [r for r in irsa.of_type(ROLE) if r["name"] == "acme.platform.log-router"]
    eks = next(r for r in irsa.resources if r["type"] == "eks:index:Cluster")
    assert iam_checks.irsa_trust_problems(
        role["inputs"]["assumeRolePolicy"], provider_arn=eks["outputs"]["oidcProviderArn"],
        issuer=eks["outputs"]["oidcIssuer"].removeprefix("https://"), namespace="tenancy-logs",
        service_account="log-router") == []
    [sa] = [o for o in _router_objects(irsa) if o["kind"] == "ServiceAccount"]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role["outputs"]["arn"]
    [role] = [r for r in pod_identity.of_type(ROLE) if r["name"] == "acme.platform.log-router"]
    assert iam_checks.pod_identity_trust_problems(
        role["inputs"]["assumeRolePolicy"], namespace="tenancy-logs", service_account="log-router",
        cluster_key="eks-cluster-arn", cluster=cluster_identity_values(pod_identity.spec)["cluster_arn"]) == []
    [assoc] = [a for a in pod_identity.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
               if a["inputs"]["serviceAccount"] == "log-router"]
    assert assoc["inputs"]["namespace"] == "tenancy-logs" and assoc["inputs"]["roleArn"] == role["outputs"]["arn"]
    [ds] = pod_identity.of_type("kubernetes:apps/v1:DaemonSet")
    agent = next(a for a in pod_identity.of_type("aws:eks/addon:Addon")
                 if a["inputs"]["addonName"] == "eks-pod-identity-agent")
    assert agent["urn"] in ds["dependencies"]


def test_router_objects_are_valid_and_route_every_tenant_to_its_own_group(irsa: RenderResult) -> None:
    objs = _router_objects(irsa)
    assert sorted(o["kind"] for o in objs) == ["ConfigMap", "DaemonSet", "Namespace", "NetworkPolicy", "ServiceAccount"]
    for o in objs:
        kubernetes_validate.validate(o, "1.33.0", strict=True)
    [cm] = [o for o in objs if o["kind"] == "ConfigMap"]
    config = json.loads(cm["data"]["config.yaml"])
    routes = lplan.routes(config)
    assert routes == {f"logs/{t.name}": ([f"/var/log/pods/{t.name}_*/*/*.log"], [f"/tenancy/acme/{t.name}/containers"])
                      for t in irsa.spec.tenants}
    # the namespace is a platform one: no tenant label (tenant walls and admission do not apply to it)
    [ns] = [o for o in objs if o["kind"] == "Namespace"]
    assert "tenancy/tenant" not in ns["metadata"]["labels"]


def test_operability_findings_and_their_negative_controls(irsa: RenderResult, pod_identity: RenderResult) -> None:
    for render in (irsa, pod_identity):
        for name in ("log router runs on every", "log router → CoreDNS",
                     "log router's own policy reaches no tenant pod"):
            assert _finding(render, name).status == "ok", _finding(render, name)
    # a DaemonSet that tolerates no pool taint does not run on the pool's nodes
    resources = copy.deepcopy(irsa.resources)
    [ds] = [r for r in resources if r["type"] == "kubernetes:apps/v1:DaemonSet"]
    tol = ds["inputs"]["spec"]["template"]["spec"]["tolerations"]
    ds["inputs"]["spec"]["template"]["spec"]["tolerations"] = [t for t in tol if t["key"] != "tenancy/pool"]
    f = _finding(irsa, "log router runs on every", resources)
    assert f.status == "missing" and "shared" in f.detail
    # a NetworkPolicy without the endpoints' egress
    resources = copy.deepcopy(irsa.resources)
    [np] = [r for r in resources if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
            and r["inputs"]["metadata"]["name"] == "log-router"]
    np["inputs"]["spec"]["egress"] = np["inputs"]["spec"]["egress"][:1]
    f = _finding(irsa, "log router → CoreDNS", resources)
    assert f.status == "missing" and "router → interface endpoints" in f.detail
    # a NetworkPolicy opened to everything, or to the VPC, reaches tenant pods
    np["inputs"]["spec"]["egress"] = [{}]
    assert _finding(irsa, "log router's own policy reaches no tenant pod", resources).status == "missing"
    np["inputs"]["spec"]["egress"] = [{"to": [{"ipBlock": {"cidr": "10.40.0.0/16"}}], "ports": [{"port": 443}]}]
    f = _finding(irsa, "log router's own policy reaches no tenant pod", resources)
    assert f.status == "missing" and "router → alpha" in f.detail
    # no logs endpoint
    resources = [r for r in irsa.resources if not (r["type"] == "aws:ec2/vpcEndpoint:VpcEndpoint"
                                                   and str(r["inputs"].get("serviceName", "")).endswith(".logs"))]
    f = _finding(irsa, "log router → CoreDNS", resources)
    assert f.status == "missing" and "logs" in f.detail


def test_per_tenant_log_resources_do_not_grow_with_the_platform() -> None:
    def count(n: int) -> tuple[int, int]:
        r = render_spec(spec_with([tenant(f"t{i:02d}", i, viewers=[ALICE]) for i in range(n)], observability=LOGS))
        router = [x for x in r.resources if x["parent"] and ROUTER in x["parent"]]
        return len(router), len([x for x in router if "t00" in x["name"]])

    (small, own_small), (large, own_large) = count(2), count(12)
    assert own_small == own_large == 3  # its group, reader role, reader policy
    assert large - small == 10 * 3  # the shared part (key, router role, objects) does not grow
