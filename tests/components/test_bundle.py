"""TenantBundle and TenantPeering under Pulumi's mock runtime: what they REGISTER (the render
writes manifests from the registered inputs, so that is what every analyser sees), with which
options, under which parents — alone against any cluster, and inside the platform."""

from __future__ import annotations

import json
import re
from typing import Any

import kubernetes_validate
import pulumi_kubernetes as k8s
import pytest

from tenancy.components.bundle import TenantBundle, TenantBundleArgs
from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.render import render_spec
from tenancy.render.result import manifest_of
from tests.fixtures.specs import small_spec, spec_with, tenant
from tests.helpers import crds
from tests.helpers.rbac import escalation_problems
from tests.helpers.recording_mocks import Recording, Registered, run

SPEC = load_platform(spec_with(
    [tenant("alpha", 0, serviceAccounts=["app", "batch"], allowFrom=["beta"], internetEgress=True),
     tenant("beta", 1)],
    workloads={"mesh": "istio", "istio": {"preinstalled": True, "cni": True},
               "ingressControllerNamespace": "ingress-nginx"},
))
ARN = "arn:aws:iam::111122223333:role/acme-alpha-app"


def _standalone() -> tuple[Recording, dict[str, Any]]:
    def program() -> dict[str, Any]:
        provider = k8s.Provider("any-cluster", kubeconfig="{}")
        # An Output from another resource, as the identity layer hands it over.
        role = k8s.core.v1.ConfigMap("role-source", data={"arn": ARN})
        arn = role.data.apply(lambda d: d["arn"])
        bundles = {t.name: TenantBundle(t.name, TenantBundleArgs(
            tenant=t, vpc_cidr=SPEC.vpc_cidr, workloads=SPEC.workloads, provider=provider,
            role_arns={"app": arn} if t.name == "alpha" else {}, aws_service_cidrs=["10.40.250.0/24"],
        )) for t in SPEC.tenants}
        bundles["alpha"].allow_from("beta", peer_namespace=bundles["beta"].namespace)
        return bundles
    return run(program)


@pytest.fixture(scope="module")
def standalone() -> tuple[Recording, dict[str, Any]]:
    return _standalone()


def _k8s(rec: Recording) -> list[Registered]:
    return [r for r in rec.resources if r.type.startswith("kubernetes:") and r.custom
            and r.name != "role-source"]


def _obj(r: Registered) -> dict[str, Any]:
    return manifest_of({"inputs": r.inputs})


def _expected() -> list[dict[str, Any]]:
    out = []
    for t in SPEC.tenants:
        out += pk.tenant_manifests(t, SPEC.workloads, SPEC.vpc_cidr, {"app": ARN} if t.name == "alpha" else {},
                                   ["10.40.250.0/24"])
    out += pk.edge_manifests("alpha", "beta", "istio")
    return out


def _key(m: dict[str, Any]) -> tuple[str, str, str]:
    return (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"])


def test_registered_inputs_are_exactly_the_manifests(standalone: tuple[Recording, dict[str, Any]]) -> None:
    rec, _ = standalone
    got = {_key(_obj(r)): _obj(r) for r in _k8s(rec)}
    want = {_key(m): m for m in _expected()}
    assert sorted(got) == sorted(want)
    for key, m in want.items():
        assert json.dumps(got[key], sort_keys=True) == json.dumps(m, sort_keys=True), key


_SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_no_key_was_translated_to_snake_case(standalone: tuple[Recording, dict[str, Any]]) -> None:
    """pulumi translates argument names; it must not touch the manifest's nested keys."""
    rec, _ = standalone
    keys = {k for r in _k8s(rec) for k in _keys(r.inputs)}
    assert not {k for k in keys if _SNAKE.match(k)}
    for camel in ("podSelector", "policyTypes", "namespaceSelector", "matchLabels", "ipBlock", "roleRef",
                  "apiGroups", "automountServiceAccountToken", "defaultRequest", "apiVersion"):
        assert camel in keys, camel


def test_types_and_registered_manifests_validate(standalone: tuple[Recording, dict[str, Any]]) -> None:
    rec, _ = standalone
    types = {r.type for r in _k8s(rec)}
    assert types == {
        "kubernetes:core/v1:Namespace", "kubernetes:core/v1:ResourceQuota", "kubernetes:core/v1:LimitRange",
        "kubernetes:core/v1:ServiceAccount", "kubernetes:core/v1:ServiceAccountPatch",
        "kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:security.istio.io/v1:PeerAuthentication", "kubernetes:security.istio.io/v1:AuthorizationPolicy",
    }
    for r in _k8s(rec):
        if "istio" not in r.type:
            kubernetes_validate.validate(_obj(r), "1.33.0", strict=True)


def test_namespace_is_retained_and_children_go_with_it(standalone: tuple[Recording, dict[str, Any]]) -> None:
    rec, _ = standalone
    provider = rec.by_name("any-cluster", "pulumi:providers:kubernetes")
    for tenant_name in ("alpha", "beta"):
        bundle = rec.by_name(tenant_name, "tenancy:bundle:TenantBundle")
        ns = rec.by_name(tenant_name, "kubernetes:core/v1:Namespace")
        assert ns.retain_on_delete and ns.parent == bundle.urn and not ns.deleted_with
        children = [r for r in _k8s(rec) if r.parent == bundle.urn and r is not ns]
        assert len(children) >= 15
        for c in children:
            assert c.deleted_with == ns.urn, c.name
            assert ns.urn in c.dependencies, c.name
            assert not c.retain_on_delete, c.name
        for r in [ns, *children]:
            assert r.provider.startswith(provider.urn), r.name


def test_an_edge_is_owned_by_the_declaring_tenant(standalone: tuple[Recording, dict[str, Any]]) -> None:
    rec, bundles = standalone
    alpha = rec.by_name("alpha", "tenancy:bundle:TenantBundle")
    peering = rec.by_name("alpha/allow-from/beta", "tenancy:bundle:TenantPeering")
    assert peering.parent == alpha.urn
    ns = {t: rec.by_name(t, "kubernetes:core/v1:Namespace").urn for t in ("alpha", "beta")}
    edge = [r for r in _k8s(rec) if r.parent == peering.urn]
    got = {(_obj(r)["kind"], _obj(r)["metadata"]["namespace"], _obj(r)["metadata"]["name"]): r for r in edge}
    assert sorted(got) == [("AuthorizationPolicy", "alpha", "tenancy-allow-from-beta"),
                           ("NetworkPolicy", "alpha", "tenancy-allow-from-beta"),
                           ("NetworkPolicy", "beta", "tenancy-allow-to-alpha")]
    for (_, namespace, _), r in got.items():
        assert r.deleted_with == ns[namespace] and ns[namespace] in r.dependencies
    assert set(bundles["alpha"].peerings) == {"beta"}
    beta = rec.by_name("beta", "tenancy:bundle:TenantBundle")
    assert not [r for r in rec.resources if r.parent == beta.urn and "allow-to" in r.name]


def test_the_role_arn_output_reaches_the_annotation(standalone: tuple[Recording, dict[str, Any]]) -> None:
    rec, bundles = standalone
    sa = rec.by_name("alpha/app", "kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ARN}
    assert rec.by_name("role-source").urn in sa.dependencies
    assert set(bundles["alpha"].service_accounts) == {"app", "batch"}
    assert "annotations" not in rec.by_name("alpha/batch", "kubernetes:core/v1:ServiceAccount").inputs["metadata"]


def test_no_provider_means_the_default_one() -> None:
    rec, _ = run(lambda: TenantBundle("solo", TenantBundleArgs(tenant=SPEC.tenant("beta"), vpc_cidr=SPEC.vpc_cidr)))
    ns = rec.by_name("solo", "kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["name"] == "beta"
    assert ns.provider == ""  # no explicit provider: the engine uses its default (ambient kubeconfig)
    assert rec.by_name("solo/default", "kubernetes:core/v1:ServiceAccountPatch")


# --------------------------------------------------------------------------------------------
# Inside the platform, through the render


@pytest.fixture(scope="module")
def rendered() -> Any:
    return render_spec(small_spec())


def test_render_attributes_every_object_to_its_tenant(rendered: Any) -> None:
    spec = rendered.spec
    groups = rendered.manifests
    for t in spec.tenants:
        objs = groups[t.name]
        own = [o for o in objs if "tenancy/peer" not in o["metadata"].get("labels", {})
               and o["kind"] != "ClusterNetworkPolicy"]
        assert {o["metadata"].get("namespace", o["metadata"]["name"]) for o in own} == {t.name}
        # The tenant's one cluster-scoped object: its Admin-tier wall (issue 26), selecting its namespaces.
        walls = [o for o in objs if o["kind"] == "ClusterNetworkPolicy"]
        assert sorted(w["metadata"]["name"] for w in walls) == sorted(
            [f"tenancy-tenant-{t.name}", *(f"tenancy-edge-{t.name}-from-{p}" for p in t.peers)])
        assert all(w["spec"]["subject"] == {"namespaces": {"matchLabels": {"tenancy/tenant": t.name}}} for w in walls)
        assert all(o["metadata"].get("labels", {}).get("tenancy/tenant", t.name) == t.name for o in objs)
        edges = [o for o in objs if "tenancy/peer" in o["metadata"].get("labels", {})]
        assert len(edges) == 3 * len(t.allow_from)  # two NetworkPolicies and one ClusterNetworkPolicy
    # The platform's own NetworkPolicies (strict mode) live only in platform namespaces.
    platform_nps = [o for o in groups.get("platform", []) if o["kind"] == "NetworkPolicy"]
    assert not {o["metadata"]["namespace"] for o in platform_nps} & {t.name for t in spec.tenants}


@pytest.mark.parametrize("version", ["1.30", "1.31", "1.32", "1.33"])
def test_rendered_manifests_validate(rendered: Any, version: str) -> None:
    objs = [o for group in rendered.manifests.values() for o in group]
    assert len(objs) > 40
    for o in objs:
        if crds.known(o):  # custom resources (the ClusterNetworkPolicies): their vendored CRD's schema
            crds.validate(o)
            continue
        kubernetes_validate.validate(o, f"{version}.0", strict=True)


def test_rendered_rbac_has_no_escalation(rendered: Any) -> None:
    objs = [o for group, os in rendered.manifests.items() if group != "platform" for o in os]
    assert escalation_problems(objs, [t.name for t in rendered.spec.tenants]) == []
    # The platform's own RBAC is the cluster-autoscaler's alone, judged in tests/components/test_autoscaler.py
    # (and by the real authorizer in tests/live/test_autoscaler_live.py).
    rbac = [o for o in rendered.manifests["platform"] if o["apiVersion"] == "rbac.authorization.k8s.io/v1"]
    assert {(o["kind"], o["metadata"]["name"]) for o in rbac} == {
        (k, "cluster-autoscaler") for k in ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")}


def test_render_records_retain_and_deleted_with(rendered: Any) -> None:
    by_urn = rendered.by_urn()
    for r in rendered.of_type("kubernetes:core/v1:Namespace"):
        assert r["retainOnDelete"] is True
    for r in rendered.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy"):
        if r["tenant"] is None:  # the platform's own (kube-system…): tests/components/test_platform_policies.py
            continue
        target = by_urn[r["deletedWith"]]
        assert target["type"] == "kubernetes:core/v1:Namespace"
        assert target["inputs"]["metadata"]["name"] == r["inputs"]["metadata"]["namespace"]


def test_pulumi_names_are_unique_per_type(rendered: Any) -> None:
    seen = [(r["type"], r["name"]) for r in rendered.resources]
    assert len(seen) == len(set(seen))


def test_pod_identity_mode_opens_the_agent(rendered: Any) -> None:
    pod_identity = render_spec(spec_with(identity={"mode": "podIdentity"}))
    names = {o["metadata"]["name"] for o in pod_identity.manifests["alpha"]}
    assert pk.NP_POD_IDENTITY in names
    assert pk.NP_POD_IDENTITY not in {o["metadata"]["name"] for o in rendered.manifests["alpha"]}


def test_the_plan_module_is_pure() -> None:
    import tenancy.plan.kubernetes as plan_module

    with open(plan_module.__file__) as f:
        source = f.read()
    assert not re.search(r"^\s*(import|from)\s+pulumi", source, re.M)
