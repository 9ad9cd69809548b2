"""The tenant manifests, judged without Pulumi: Kubernetes' OpenAPI schema (kubernetes-validate,
strict) for every supported minor version, the RBAC authorizer's semantics, and stability."""

from __future__ import annotations

import copy
import json
from typing import Any

import kubernetes_validate
import pytest

from tenancy.plan import kubernetes as pk
from tenancy.plan.validate import load_platform
from tenancy.spec import EdgePort, SpecError, TenantSpec, WorkloadsSpec, naming
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.rbac import FENCES, WRITE_VERBS, allows, escalation_problems

KUBERNETES_VERSIONS = ("1.30", "1.31", "1.32", "1.33")

FULL = spec_with(
    [tenant("alpha", 0, serviceAccounts=["app", "batch"], allowFrom=["beta"], internetEgress=True,
            quota={"cpu": "8", "memory": "16Gi"}),
     tenant("beta", 1, allowFrom=["alpha"]),
     tenant("gamma", 2)],
    workloads={"ingressControllerNamespace": "ingress-nginx", "mesh": "istio", "podSecurityVersion": "v1.33",
               "istio": {"preinstalled": True, "cni": True}},
)
ROLE = "arn:aws:iam::111122223333:role/acme-alpha-app"


def every_manifest(spec_dict: dict[str, Any] = FULL) -> list[dict[str, Any]]:
    spec = load_platform(spec_dict)
    out = []
    for t in spec.tenants:
        out += pk.tenant_manifests(t, spec.workloads, spec.vpc_cidr,
                                   {"app": ROLE} if t.name == "alpha" else {},
                                   aws_service_cidrs=["10.40.250.0/24"], pod_identity_agent=True)
        out += pk.tenant_edges(t, spec.workloads.mesh)
    return out


def is_istio(m: dict[str, Any]) -> bool:
    return m["apiVersion"].startswith("security.istio.io/")


# --------------------------------------------------------------------------------------------
# Schema


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_strictly(version: str) -> None:
    manifests = [m for m in every_manifest() if not is_istio(m)]  # Istio CRDs: no schema shipped
    kinds = {m["kind"] for m in manifests}
    assert kinds == {"Namespace", "ResourceQuota", "LimitRange", "Role", "RoleBinding", "ServiceAccount",
                     "NetworkPolicy"}
    for m in manifests:
        kubernetes_validate.validate(m, f"{version}.0", strict=True)


def test_the_schema_check_can_fail() -> None:
    """Negative controls: a misspelt field, a port out of type, a field at the wrong level."""
    np = next(m for m in every_manifest() if m["metadata"]["name"] == pk.NP_DNS)
    broken = [copy.deepcopy(np) for _ in range(3)]
    broken[0]["spec"]["egress"][0]["port"] = [{"protocol": "UDP", "port": 53}]  # "port" instead of "ports"
    broken[1]["spec"]["egress"][0]["ports"][0]["port"] = [53]
    broken[2]["spec"]["policyType"] = ["Egress"]
    for b in broken:
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(b, "1.33.0", strict=True)


def test_names_are_unique_per_kind_and_namespace() -> None:
    keys = [(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in every_manifest()]
    assert len(keys) == len(set(keys))


# --------------------------------------------------------------------------------------------
# Namespace, quota, limits, service accounts


def test_namespace_labels() -> None:
    ns = pk.namespace(TenantSpec(name="alpha", slot=0))
    labels = ns["metadata"]["labels"]
    assert labels[naming.TENANT_LABEL] == "alpha"
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "latest"
    assert "kubernetes.io/metadata.name" not in labels  # the API server sets it
    pinned = pk.namespace(TenantSpec(name="alpha", slot=0), "v1.31")
    assert pinned["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] == "v1.31"


def test_quota_and_limits_follow_the_spec() -> None:
    t = load_platform(FULL).tenant("alpha")
    hard = pk.resource_quota(t)["spec"]["hard"]
    assert hard == {"requests.cpu": "8", "limits.cpu": "8", "requests.memory": "16Gi", "limits.memory": "16Gi",
                    "pods": "50", "services": "20", "persistentvolumeclaims": "10", "requests.storage": "100Gi",
                    "services.loadbalancers": "0", "services.nodeports": "0",
                    "requests.ephemeral-storage": "8Gi", "limits.ephemeral-storage": "8Gi",
                    # a dedicated tenant: no branch interfaces (issue 23)
                    "requests.vpc.amazonaws.com/pod-eni": "0",
                    "count/secrets": "50", "count/configmaps": "50", "count/deployments.apps": "30",
                    "count/replicasets.apps": "200", "count/statefulsets.apps": "20", "count/jobs.batch": "50",
                    "count/cronjobs.batch": "20", "count/leases.coordination.k8s.io": "20",
                    "count/ingresses.networking.k8s.io": "20",
                    "count/horizontalpodautoscalers.autoscaling": "20", "count/poddisruptionbudgets.policy": "20"}
    limits = pk.limit_range(t)["spec"]["limits"]
    assert limits == [{"type": "Container",
                       "default": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "256Mi"},
                       "defaultRequest": {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"},
                       "max": {"cpu": "2", "memory": "4Gi", "ephemeral-storage": "2Gi"}}]


def test_object_counts_and_local_disk_follow_overrides() -> None:
    t = TenantSpec(name="alpha", slot=0, quota={"ephemeralStorage": "20Gi", "objects": {"secrets": 7, "jobs": 0}},
                   limits={"ephemeralStorage": {"defaultLimit": "2Gi", "maxPerContainer": "10Gi"}})
    hard = pk.resource_quota(t)["spec"]["hard"]
    assert (hard["count/secrets"], hard["count/jobs.batch"], hard["count/configmaps"]) == ("7", "0", "50")
    assert hard["requests.ephemeral-storage"] == hard["limits.ephemeral-storage"] == "20Gi"
    lim = pk.limit_range(t)["spec"]["limits"][0]
    assert (lim["default"]["ephemeral-storage"], lim["max"]["ephemeral-storage"]) == ("2Gi", "10Gi")
    # Every field of quota.objects has a ResourceQuota key, and every key is a count/ quota.
    assert set(pk.OBJECT_COUNTS) == set(type(t.quota.objects).model_fields)
    assert all(k.startswith("count/") for k in pk.OBJECT_COUNTS.values())


def test_a_pooled_tenants_branch_interfaces_equal_its_pods() -> None:
    t = TenantSpec(name="media", pool="shared-a", quota={"pods": 12})
    assert pk.resource_quota(t)["spec"]["hard"]["requests.vpc.amazonaws.com/pod-eni"] == "12"
    # a pooled tenant's local disk defaults smaller (its requests share the pool's disks); a set one stays
    assert t.quota.ephemeral_storage == "3Gi"
    assert TenantSpec(name="m", pool="p", quota={"ephemeralStorage": "5Gi"}).quota.ephemeral_storage == "5Gi"
    assert TenantSpec(name="m", pool="p", quota={"ephemeralStorage": "5Gi"}).quota.pods == 10


def test_ephemeral_storage_limits_out_of_order_are_rejected_with_a_path() -> None:
    bad = spec_with([tenant("alpha", 0, limits={"ephemeralStorage": {"defaultRequest": "2Gi"}})])
    with pytest.raises(SpecError) as exc:
        load_platform(bad)
    assert "tenants[0] (alpha).limits.ephemeralStorage" in str(exc.value)
    assert "2Gi <= 256Mi <= 2Gi" in str(exc.value)


def test_limit_range_out_of_order_is_rejected_with_a_path() -> None:
    bad = spec_with([tenant("alpha", 0, limits={"defaultRequest": {"cpu": "1", "memory": "128Mi"},
                                                "defaultLimit": {"cpu": "500m", "memory": "8Gi"}})])
    with pytest.raises(SpecError) as exc:
        load_platform(bad)
    text = str(exc.value)
    assert "tenants[0] (alpha).limits" in text
    assert "defaultRequest.cpu 1 is above defaultLimit.cpu 500m" in text
    assert "defaultLimit.memory 8Gi is above maxPerContainer.memory 4Gi" in text


def test_pod_security_version_is_validated() -> None:
    with pytest.raises(SpecError, match=r"workloads.podSecurityVersion: '1.33' is not"):
        load_platform(spec_with(workloads={"podSecurityVersion": "1.33"}))


def test_service_accounts() -> None:
    t = load_platform(FULL).tenant("alpha")
    sas = pk.service_accounts(t, {"app": ROLE})
    assert [s["metadata"]["name"] for s in sas] == ["app", "batch"]
    assert sas[0]["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    assert "annotations" not in sas[1]["metadata"]  # no role given (e.g. Pod Identity)
    assert all(s["automountServiceAccountToken"] is False for s in sas)
    default = pk.default_service_account(t)
    assert default["metadata"] == {"name": "default", "namespace": "alpha"}
    assert default["automountServiceAccountToken"] is False
    with pytest.raises(ValueError, match="not serviceAccounts"):
        pk.service_accounts(t, {"other": ROLE})


# --------------------------------------------------------------------------------------------
# RBAC


def test_rbac_has_no_escalation_path() -> None:
    manifests = every_manifest()
    assert escalation_problems(manifests, ["alpha", "beta", "gamma"]) == []
    assert not [m for m in manifests if m["kind"] in ("ClusterRole", "ClusterRoleBinding")]


@pytest.mark.parametrize("broken_rule, expect", [
    ({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, "grants verb(s) ['*']"),
    ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["bind"]},
     "grants verb(s) ['bind']"),
    ({"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}, "impersonate"),
    ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["escalate"]}, "escalate"),
    ({"apiGroups": ["*"], "resources": ["networkpolicies"], "verbs": ["patch"]},
     "may patch networking.k8s.io/networkpolicies"),
    ({"apiGroups": [""], "resources": ["*"], "verbs": ["update"]}, "may update core/resourcequotas"),
    ({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["patch"]}, "may patch core/namespaces"),
    ({"apiGroups": [""], "resources": ["limitranges"], "verbs": ["delete"]}, "may delete core/limitranges"),
    ({"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}, "serviceaccounts/token"),
    ({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]},
     "may create rbac.authorization.k8s.io/rolebindings"),
])
def test_rbac_check_catches_escalations(broken_rule: dict[str, Any], expect: str) -> None:
    """Negative controls: each broken rule added to the rendered admin Role must be reported."""
    manifests = copy.deepcopy(every_manifest())
    admin = next(m for m in manifests if m["kind"] == "Role" and m["metadata"]["name"] == "tenancy-admin")
    admin["rules"].append(broken_rule)
    problems = escalation_problems(manifests, ["alpha", "beta", "gamma"])
    assert any(expect in p for p in problems), problems


def test_rbac_check_catches_bad_bindings() -> None:
    manifests = copy.deepcopy(every_manifest())
    rb = next(m for m in manifests if m["kind"] == "RoleBinding")
    rb["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}
    rb["subjects"].append({"kind": "Group", "name": "system:authenticated", "apiGroup": "rbac.authorization.k8s.io"})
    manifests.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                      "metadata": {"name": "x"}, "roleRef": {}, "subjects": []})
    problems = "\n".join(escalation_problems(manifests, ["alpha", "beta", "gamma"]))
    assert "binds ClusterRole admin" in problems
    assert "system:authenticated" in problems
    assert "cluster-scoped RBAC" in problems


def _persona_rules(tenant_name: str) -> dict[str, list[dict[str, Any]]]:
    t = load_platform(FULL).tenant(tenant_name)
    roles = {r["metadata"]["name"]: r["rules"] for r in pk.roles(t)}
    out = {}
    for b in pk.role_bindings(t):
        (subject,) = b["subjects"]
        out[subject["name"].rsplit(":", 1)[1]] = roles[b["roleRef"]["name"]]
    return out


@pytest.mark.parametrize("persona", ["admins", "editors", "viewers"])
def test_no_persona_may_touch_a_fence(persona: str) -> None:
    rules = _persona_rules("alpha")[persona]
    for group, resource in FENCES:
        for verb in (*WRITE_VERBS, "bind", "escalate", "impersonate"):
            assert not allows(rules, verb, group, resource), (persona, verb, group, resource)


@pytest.mark.parametrize("persona, can, cannot", [
    ("admins",
     [("create", "apps", "deployments"), ("delete", "", "secrets"), ("create", "", "pods/exec"),
      ("list", "rbac.authorization.k8s.io", "rolebindings"), ("create", "networking.k8s.io", "ingresses"),
      ("create", "autoscaling", "horizontalpodautoscalers"), ("create", "batch", "cronjobs"),
      ("create", "", "persistentvolumeclaims")],
     [("create", "apps", "daemonsets"), ("get", "", "nodes"), ("create", "", "pods/proxy")]),
    ("editors",
     [("patch", "apps", "deployments"), ("create", "", "configmaps"), ("get", "", "secrets"),
      ("create", "", "pods/portforward"), ("list", "networking.k8s.io", "networkpolicies")],
     [("list", "rbac.authorization.k8s.io", "roles")]),
    ("viewers",
     [("list", "", "pods"), ("get", "", "pods/log"), ("watch", "apps", "deployments"),
      ("list", "", "resourcequotas")],
     [("get", "", "secrets"), ("create", "", "pods"), ("create", "", "pods/exec"), ("delete", "apps", "deployments")]),
])
def test_personas_can_run_their_workloads(persona: str, can: list[tuple[str, str, str]],
                                         cannot: list[tuple[str, str, str]]) -> None:
    rules = _persona_rules("alpha")[persona]
    for verb, group, resource in can:
        assert allows(rules, verb, group, resource), (persona, verb, group, resource)
    for verb, group, resource in cannot:
        assert not allows(rules, verb, group, resource), (persona, verb, group, resource)


def test_bindings_name_the_access_entry_groups() -> None:
    t = TenantSpec(name="alpha", slot=0)
    got = {b["roleRef"]["name"]: b["subjects"] for b in pk.role_bindings(t)}
    assert got == {f"tenancy-{role}": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                        "name": naming.tenant_group("alpha", persona)}]
                   for role, persona in pk.PERSONAS.items()}


# --------------------------------------------------------------------------------------------
# Network policy structure (connectivity itself is judged by nca in tests/review/test_isolation.py)


def test_dns_rule_selects_kube_dns_in_kube_system_on_both_protocols() -> None:
    (dns,) = [m for m in pk.network_policies(TenantSpec(name="alpha", slot=0), WorkloadsSpec(), "10.0.0.0/16")
              if m["metadata"]["name"] == pk.NP_DNS]
    assert dns["spec"]["policyTypes"] == ["Egress"]
    (rule,) = dns["spec"]["egress"]
    assert rule["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert sorted((p["protocol"], p["port"]) for p in rule["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_opt_ins_are_off_by_default() -> None:
    names = {m["metadata"]["name"] for m in
             pk.network_policies(TenantSpec(name="alpha", slot=0), WorkloadsSpec(), "10.0.0.0/16")}
    assert names == {pk.NP_DEFAULT_DENY, pk.NP_SAME_NAMESPACE, pk.NP_DNS}
    assert pk.mesh_policies(TenantSpec(name="alpha", slot=0), WorkloadsSpec()) == []


def test_internet_egress_excludes_the_vpc_and_link_local() -> None:
    t = TenantSpec(name="alpha", slot=0, internet_egress=True)
    (np,) = [m for m in pk.network_policies(t, WorkloadsSpec(), "10.40.0.0/16")
             if m["metadata"]["name"] == pk.NP_INTERNET]
    assert np["spec"]["egress"] == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                                         "except": ["10.40.0.0/16", "169.254.0.0/16"]}}]}]


def test_mesh_policies() -> None:
    spec = load_platform(FULL)
    ms = pk.mesh_policies(spec.tenant("gamma"), spec.workloads)
    assert [(m["kind"], m["spec"]) for m in ms] == [
        ("PeerAuthentication", {"mtls": {"mode": "STRICT"}}),
        ("AuthorizationPolicy", {"action": "ALLOW",
                                 "rules": [{"from": [{"source": {"namespaces": ["gamma", "ingress-nginx"]}}]}]}),
    ]


# --------------------------------------------------------------------------------------------
# Edges and stability


def test_one_edge_is_one_pair_owned_by_the_declaring_tenant() -> None:
    edge = pk.edge_manifests("alpha", "beta", "istio")
    got = [(m["kind"], m["metadata"]["namespace"], m["metadata"]["name"], m["metadata"]["labels"]["tenancy/tenant"])
           for m in edge]
    assert got == [("NetworkPolicy", "alpha", "tenancy-allow-from-beta", "alpha"),
                   ("NetworkPolicy", "beta", "tenancy-allow-to-alpha", "alpha"),
                   ("AuthorizationPolicy", "alpha", "tenancy-allow-from-beta", "alpha")]
    assert edge[0]["spec"]["policyTypes"] == ["Ingress"] and "egress" not in edge[0]["spec"]
    assert edge[1]["spec"]["policyTypes"] == ["Egress"] and "ingress" not in edge[1]["spec"]
    with pytest.raises(ValueError):
        pk.edge_manifests("alpha", "alpha")


def _by_tenant(spec_dict: dict[str, Any]) -> dict[str, str]:
    spec = load_platform(spec_dict)
    return {t.name: json.dumps(pk.tenant_manifests(t, spec.workloads, spec.vpc_cidr) + pk.tenant_edges(t),
                               sort_keys=True) for t in spec.tenants}


def test_adding_removing_reordering_tenants_changes_no_other_tenant() -> None:
    base = _by_tenant(FULL)
    tenants = FULL["tenants"]
    more = _by_tenant({**FULL, "tenants": [*tenants, tenant("delta", 3, allowFrom=["alpha", "gamma"])]})
    fewer = _by_tenant({**FULL, "tenants": [t for t in tenants if t["name"] != "gamma"]})
    reordered = _by_tenant({**FULL, "tenants": list(reversed(tenants))})
    for name, objs in base.items():
        assert more[name] == objs
        assert reordered[name] == objs
        if name in fewer:
            assert fewer[name] == objs


def test_no_base_policy_name_can_collide_with_an_edge() -> None:
    base = {m["metadata"]["name"] for m in every_manifest() if "tenancy/peer" not in m["metadata"].get("labels", {})}
    assert not [n for n in base if n.startswith((pk.EDGE_INGRESS_PREFIX, pk.EDGE_EGRESS_PREFIX))]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_port_scoped_edge_narrows_both_policies_and_validates(version: str) -> None:
    spec = load_platform(spec_with([
        tenant("payments", 0, allowFrom=[{"tenant": "checkout", "ports": [
            {"port": 443}, {"port": 5353, "protocol": "UDP"}, {"port": 8000, "endPort": 8080},
            {"port": 9000, "protocol": "SCTP"}]}]),
        tenant("checkout", 1)]))
    edge = pk.tenant_edges(spec.tenant("payments"), "istio")
    ing, eg, ap = edge
    want = [{"protocol": "TCP", "port": 443}, {"protocol": "UDP", "port": 5353},
            {"protocol": "TCP", "port": 8000, "endPort": 8080}, {"protocol": "SCTP", "port": 9000}]
    assert ing["spec"]["ingress"][0]["ports"] == want
    assert eg["spec"]["egress"][0]["ports"] == want
    for m in (ing, eg):
        kubernetes_validate.validate(m, f"{version}.0", strict=True)
    # a range (or a non-TCP port) leaves the AuthorizationPolicy at the namespace: the
    # NetworkPolicies narrow it
    assert "to" not in ap["spec"]["rules"][0]


def test_single_tcp_ports_narrow_the_istio_policy_too() -> None:
    edge = pk.edge_manifests("payments", "checkout", "istio",
                             [EdgePort(port=443), EdgePort(port=8443)])
    assert edge[2]["spec"]["rules"] == [{"from": [{"source": {"namespaces": ["checkout"]}}],
                                         "to": [{"operation": {"ports": ["443", "8443"]}}]}]
    # no ports: every port, as before
    assert "ports" not in pk.edge_manifests("payments", "checkout")[0]["spec"]["ingress"][0]
def test_a_load_balancer_grant_without_a_path_is_refused() -> None:
    """Issue 23: quota.loadBalancers > 0 admitted a LoadBalancer Service no NetworkPolicy or security group
    lets traffic reach; the spec now refuses the grant, naming the field and the fix."""
    with pytest.raises(SpecError) as exc:
        load_platform(spec_with([tenant("alpha", 0, quota={"loadBalancers": 1})]))
    text = str(exc.value)
    assert "tenants[0] (alpha).quota.loadBalancers" in text
    assert "nothing opens a path" in text and "set quota.loadBalancers to 0" in text
    # Negative control: without the grant (or with node ports only) the same tenant loads.
    load_platform(spec_with([tenant("alpha", 0, quota={"loadBalancers": 0, "nodePorts": 1})]))
