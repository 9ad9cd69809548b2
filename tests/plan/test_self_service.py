"""Self-service RBAC, serviceAccountRoles and injected placement (issue 26), offline.

The admission policies' CEL is judged by cel-python (tests/helpers/vap.py, the same evaluator as
the placement policy's tests); the JSON patches themselves use Kubernetes CEL types (``JSONPatch``,
``Object.spec…``) that only the API server has, so they are judged live
(tests/live/test_self_service_live.py) — here only the variables deciding what to add are.
"""

from __future__ import annotations

import copy
from typing import Any

import celpy
import pytest
from pydantic import ValidationError

from tenancy.plan import admission
from tenancy.plan import kubernetes as plan
from tenancy.spec import TenantSpec
from tests.helpers.vap import admit, cel
from tests.plan.test_admission import DEFAULT_TOLERATIONS, in_tenant, own_toleration, pod, required_affinity

RBAC = "rbac.authorization.k8s.io"
POLICY, BINDING = admission.tenant_rbac_policy(), admission.tenant_rbac_binding()


def tenant(**kw: Any) -> TenantSpec:
    return TenantSpec.model_validate({"name": "sigma", "slot": 0, **kw})


def ns(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}}


SIGMA = ns("sigma", **{"tenancy/tenant": "sigma", "tenancy/tier": "premium"})
RHO = ns("rho", **{"tenancy/tenant": "rho", "tenancy/pool": "shared-a", "tenancy/tier": "standard"})


# --------------------------------------------------------------------------------------------
# Spec


def test_self_service_is_off_by_default_and_the_admin_reads_rbac_only() -> None:
    t = tenant()
    assert t.self_service.rbac is False
    admin = next(r for r in plan.roles(t) if r["metadata"]["name"] == "tenancy-admin")
    rbac = [r for r in admin["rules"] if r["apiGroups"] == [RBAC]]
    assert rbac == [{"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": plan.READ}]


def test_self_service_rbac_lets_the_admin_write_roles_and_bindings_and_nothing_more() -> None:
    off, on = plan.roles(tenant()), plan.roles(tenant(selfService={"rbac": True}))
    by_name = {r["metadata"]["name"]: r for r in on}
    assert by_name["tenancy-edit"] == next(r for r in off if r["metadata"]["name"] == "tenancy-edit")
    assert by_name["tenancy-view"] == next(r for r in off if r["metadata"]["name"] == "tenancy-view")
    rbac = [r for r in by_name["tenancy-admin"]["rules"] if r["apiGroups"] == [RBAC]]
    assert rbac == [{"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": plan.READ + plan.WRITE}]


@pytest.mark.parametrize("self_service", [False, True])
def test_no_persona_ever_holds_escalate_bind_or_impersonate(self_service: bool) -> None:
    for role in plan.roles(tenant(selfService={"rbac": self_service})):
        verbs = {v for rule in role["rules"] for v in rule["verbs"]}
        assert not verbs & plan.NEVER_GRANTED, role["metadata"]["name"]
        assert "*" not in verbs
        assert all("*" not in rule["resources"] and "*" not in rule["apiGroups"] for rule in role["rules"])


def test_service_account_roles_render_one_binding_per_entry() -> None:
    t = tenant(serviceAccounts=["op", "idle"], kubernetesApiAccess=True, serviceAccountRoles={"op": "edit"})
    assert plan.service_account_bindings(t) == [{
        "apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
        "metadata": {"name": "tenancy-sa-op", "namespace": "sigma",
                     "labels": {"tenancy/tenant": "sigma", "app.kubernetes.io/managed-by": "tenancy"}},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "tenancy-edit"},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "sigma"}]}]
    assert plan.service_account_bindings(tenant()) == []
    manifests = plan.tenant_manifests(t, kubernetes_service_ip="172.20.0.1")
    assert [m["metadata"]["name"] for m in manifests if m["kind"] == "RoleBinding"][-1] == "tenancy-sa-op"


def test_service_account_roles_need_kubernetes_api_access() -> None:
    with pytest.raises(ValidationError) as exc:
        tenant(serviceAccounts=["op"], serviceAccountRoles={"op": "view"})
    assert "kubernetesApiAccess" in str(exc.value) and "serviceAccountRoles" in str(exc.value)


def test_service_account_roles_name_only_the_tenants_service_accounts() -> None:
    with pytest.raises(ValidationError) as exc:
        tenant(serviceAccounts=["op"], kubernetesApiAccess=True, serviceAccountRoles={"ghost": "view"})
    assert "'ghost'" in str(exc.value) and "serviceAccounts" in str(exc.value)


@pytest.mark.parametrize("role", ["admin", "cluster-admin", "owner"])
def test_service_account_roles_are_view_or_edit(role: str) -> None:
    with pytest.raises(ValidationError) as exc:
        tenant(serviceAccounts=["op"], kubernetesApiAccess=True, serviceAccountRoles={"op": role})
    assert "serviceAccountRoles" in str(exc.value)


def test_the_policies_copies_of_the_plan_constants_agree() -> None:
    assert admission.PERSONA_GROUPS == tuple(plan.PERSONAS.values())
    assert admission.PRIORITY_CLASSES == plan.PRIORITY_CLASSES
    assert admission.PRIORITY_VALUES == plan.PRIORITY_VALUES
    assert admission.PREEMPTION_POLICIES == plan.PREEMPTION_POLICIES
    assert admission.PLATFORM_PREFIX == plan.ROLE_PREFIX
    assert admission.TENANT_GROUP_PREFIX + "sigma:admins" == plan.naming.tenant_group("sigma", "admins")


# --------------------------------------------------------------------------------------------
# tenancy-tenant-rbac, judged by cel-python


def _rb(name: str, *subjects: dict[str, Any], role: str = "tenancy-view") -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": "sigma"},
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": role}, "subjects": list(subjects)}


def _group(name: str) -> dict[str, str]:
    return {"kind": "Group", "name": name, "apiGroup": RBAC}


ADMIN = ("live-sigma-admin", ("tenancy:sigma:admins", "system:authenticated"))


def decide(obj: dict[str, Any] | None, operation: str = "CREATE", old: dict[str, Any] | None = None,
           who: tuple[str, tuple[str, ...]] = ADMIN, resource: str = "rolebindings",
           namespace: dict[str, Any] = SIGMA) -> Any:
    kind = "RoleBinding" if resource == "rolebindings" else "Role"
    return admit(POLICY, BINDING, obj, namespace, operation=operation, old_pod=old,  # type: ignore[arg-type]
                 resource=resource, user=who[0], groups=who[1], group=RBAC, kind=kind)


@pytest.mark.parametrize("subject", [
    _group("tenancy:sigma:admins"), _group("tenancy:sigma:editors"), _group("tenancy:sigma:viewers"),
    _group("system:serviceaccounts:sigma"),
    {"kind": "ServiceAccount", "name": "op", "namespace": "sigma"}, {"kind": "ServiceAccount", "name": "op"},
])
def test_own_subjects_may_be_bound(subject: dict[str, Any]) -> None:
    d = decide(_rb("mine", subject))
    assert d.applies and d.violations == []


@pytest.mark.parametrize("subject", [
    _group("tenancy:tau:editors"), _group("tenancy:sigmax:admins"), _group("tenancy:sigma:owners"),
    _group("system:authenticated"), _group("system:unauthenticated"), _group("system:serviceaccounts"),
    _group("system:masters"), _group("system:serviceaccounts:tau"),
    {"kind": "ServiceAccount", "name": "app", "namespace": "tau"},
    {"kind": "User", "name": "alice", "apiGroup": RBAC},
    {"kind": "User", "name": "system:serviceaccount:tau:app", "apiGroup": RBAC},
])
def test_subjects_outside_the_tenant_are_refused_with_the_subject_named(subject: dict[str, Any]) -> None:
    d = decide(_rb("share", _group("tenancy:sigma:viewers"), subject))
    assert d.denied
    assert subject["name"] in d.violations[0] and "tenancy:sigma:admins" in d.violations[0]


@pytest.mark.parametrize("operation", ["CREATE", "UPDATE", "DELETE"])
@pytest.mark.parametrize("name", ["tenancy-admins", "tenancy-viewers", "tenancy-sa-op", "tenancy-anything"])
def test_the_platforms_objects_are_refused_to_the_tenant(operation: str, name: str) -> None:
    obj = _rb(name, _group("tenancy:sigma:viewers"))
    d = decide(None if operation == "DELETE" else obj, operation, None if operation == "CREATE" else obj)
    assert d.denied and name in d.violations[0] and "platform" in d.violations[0]
    role = {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": name, "namespace": "sigma"},
            "rules": []}
    d = decide(None if operation == "DELETE" else role, operation, None if operation == "CREATE" else role,
               resource="roles")
    assert d.denied


def test_a_service_account_of_the_namespace_is_the_tenant_too() -> None:
    sa = ("system:serviceaccount:sigma:idle", ("system:serviceaccounts", "system:serviceaccounts:sigma"))
    assert decide(_rb("tenancy-admins", _group("tenancy:tau:admins")), "UPDATE", _rb("tenancy-admins"), sa).denied


@pytest.mark.parametrize("who", [
    ("kubernetes-admin", ("system:masters",)),
    ("system:serviceaccount:kube-system:namespace-controller", ("system:serviceaccounts",
                                                                 "system:serviceaccounts:kube-system")),
    ("arn:aws:sts::111122223333:assumed-role/deployer/ci", ("system:authenticated",)),
])
def test_the_platform_and_the_namespace_controller_are_not_judged(who: tuple[str, tuple[str, ...]]) -> None:
    """Negative control for who is the tenant: the deployer may update, the namespace controller
    may delete (a removed tenant's namespace must empty itself). A ServiceAccount is matched (only the
    policy's variables can tell whose it is) and passes."""
    obj = _rb("tenancy-admins", _group("tenancy:sigma:admins"))
    foreign = _rb("tenancy-admins", _group("system:authenticated"))
    for d in (decide(foreign, "UPDATE", obj, who), decide(None, "DELETE", obj, who)):
        assert d.violations == [] and d.applies == who[0].startswith("system:serviceaccount:")


def test_the_policy_ignores_other_namespaces_and_kinds() -> None:
    d = admit(POLICY, BINDING, _rb("tenancy-x"), ns("kube-system"), resource="rolebindings", group=RBAC,
              user=ADMIN[0], groups=ADMIN[1], kind="RoleBinding")
    assert not d.applies
    assert not admit(POLICY, BINDING, pod(), SIGMA, user=ADMIN[0], groups=ADMIN[1]).applies


# --------------------------------------------------------------------------------------------
# A tenant with several namespaces: its other namespaces' ServiceAccounts are its own


def _sibling_ns() -> dict[str, Any]:
    """sigma's main namespace as the render writes it for a tenant with an extra namespace."""
    t = tenant(namespaces=["sigma-batch"])
    out = plan.namespace(t)
    out["metadata"]["labels"]["kubernetes.io/metadata.name"] = "sigma"
    return out


def test_a_tenant_with_several_namespaces_lists_them_on_each_and_one_namespace_lists_none() -> None:
    t = tenant(namespaces=["sigma-batch"])
    for name in ("sigma", "sigma-batch"):
        labels = plan.namespace(t, name=name)["metadata"]["labels"]
        assert {k: v for k, v in labels.items() if k.startswith("namespace.tenancy/")} == {
            "namespace.tenancy/sigma": "sigma", "namespace.tenancy/sigma-batch": "sigma-batch"}
    assert not any(k.startswith("namespace.tenancy/") for k in plan.namespace(tenant())["metadata"]["labels"])


BATCH_SA = ("system:serviceaccount:sigma-batch:op", ("system:serviceaccounts", "system:serviceaccounts:sigma-batch"))


@pytest.mark.parametrize("subject", [
    {"kind": "ServiceAccount", "name": "op", "namespace": "sigma-batch"}, _group("system:serviceaccounts:sigma-batch"),
])
def test_the_service_accounts_of_the_tenants_other_namespace_may_be_bound(subject: dict[str, Any]) -> None:
    d = decide(_rb("batch", subject), namespace=_sibling_ns())
    assert d.applies and d.violations == []
    # negative control: the namespace of a tenant with one namespace lists no other: refused
    d = decide(_rb("batch", subject))
    assert d.denied and "sigma-batch" in d.violations[0]


@pytest.mark.parametrize("subject", [
    {"kind": "ServiceAccount", "name": "app", "namespace": "tau"}, _group("system:serviceaccounts:tau"),
    {"kind": "ServiceAccount", "name": "op", "namespace": "sigma-batchx"},
    _group("system:serviceaccounts:sigma-batch:op"), _group("system:serviceaccounts"),
])
def test_another_tenants_service_accounts_stay_refused_with_siblings(subject: dict[str, Any]) -> None:
    d = decide(_rb("share", subject), namespace=_sibling_ns())
    assert d.denied and subject["name"] in d.violations[0] and "other namespaces" in d.violations[0]


def test_a_service_account_of_the_other_namespace_is_judged_as_the_tenant() -> None:
    """Bindable means judged: were the sigma-batch ServiceAccount not the tenant to the match
    condition, an admin could bind it with RoleBinding write in sigma and have it bind anyone."""
    current = _rb("tenancy-admins", _group("tenancy:sigma:admins"))
    d = decide(_rb("tenancy-admins", _group("tenancy:tau:admins")), "UPDATE", current, BATCH_SA,
               namespace=_sibling_ns())
    assert d.applies and d.denied
    d = decide(_rb("open", _group("system:authenticated")), who=BATCH_SA, namespace=_sibling_ns())
    assert d.denied
    # a ServiceAccount of a namespace the labels do not list is not the tenant (the deployer's, say)
    other = ("system:serviceaccount:sigma-batchx:op", ("system:serviceaccounts",))
    assert decide(_rb("open", _group("system:authenticated")), who=other, namespace=_sibling_ns()).violations == []


# --------------------------------------------------------------------------------------------
# Placement injected: what the mutating policy decides to add (cel-python on its variables)


def variables(p: dict[str, Any], namespace: dict[str, Any] = SIGMA) -> dict[str, Any]:
    act: dict[str, Any] = {"object": celpy.json_to_cel(p), "namespaceObject": celpy.json_to_cel(namespace),
                           "oldObject": celpy.json_to_cel(None)}
    out: dict[str, Any] = {}
    for v in admission.placement_mutation_policy()["spec"]["variables"]:
        act["variables"] = celpy.celtypes.MapType({celpy.celtypes.StringType(k): x for k, x in out.items()})
        out[v["name"]] = cel(v["expression"], act)
    return out


def test_an_unpinned_pod_needs_everything() -> None:
    v = variables(pod(namespace="sigma"))
    assert (v["needSelector"], v["needToleration"], v["needPriority"]) == (True, True, True)
    assert (v["placementKey"], v["placementValue"], v["pointerKey"], v["tier"]) == (
        "tenancy/tenant", "sigma", "tenancy~1tenant", "premium")


def test_a_pooled_pod_gets_its_pool() -> None:
    v = variables(pod(namespace="rho", tolerations=DEFAULT_TOLERATIONS), RHO)
    assert (v["placementKey"], v["placementValue"], v["pointerKey"], v["tier"]) == (
        "tenancy/pool", "shared-a", "tenancy~1pool", "standard")
    assert v["needSelector"] and v["needToleration"]


@pytest.mark.parametrize(("p", "need"), [
    (pod(selector={"tenancy/tenant": "sigma"}, tolerations=[own_toleration("sigma")]), (False, False)),
    # a wrong value is left for the validating policy to refuse, never corrected
    (pod(selector={"tenancy/tenant": "tau"}, tolerations=[own_toleration("tau")]), (False, False)),
    (pod(selector={"disktype": "ssd"}, tolerations=DEFAULT_TOLERATIONS), (True, True)),
    (pod(affinity=required_affinity([in_tenant("sigma")])), (False, True)),
    (pod(node_name="ip-10-0-0-1"), (False, True)),
])
def test_only_what_the_pod_leaves_out_is_added(p: dict[str, Any], need: tuple[bool, bool]) -> None:
    v = variables(p)
    assert (v["needSelector"], v["needToleration"]) == need


def test_a_named_priority_class_is_kept() -> None:
    p = pod()
    p["spec"]["priorityClassName"] = "tenancy-standard"
    assert not variables(p)["needPriority"]


def test_a_namespace_without_a_known_tier_gets_no_class() -> None:
    bare = copy.deepcopy(SIGMA)
    del bare["metadata"]["labels"]["tenancy/tier"]
    assert not variables(pod(), bare)["needPriority"]


def test_the_mutating_policy_is_scoped_like_the_placement_policy() -> None:
    m, b = admission.placement_mutation_policy(), admission.placement_mutation_binding()
    assert m["spec"]["matchConstraints"]["namespaceSelector"] == admission.NAMESPACE_SELECTOR
    assert b["spec"]["matchResources"]["namespaceSelector"] == admission.NAMESPACE_SELECTOR
    assert m["spec"]["matchConstraints"]["resourceRules"] == [
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]
    assert m["apiVersion"] == "admissionregistration.k8s.io/v1" and b["spec"]["policyName"] == m["metadata"]["name"]
    # the pod-eni request is the VPC resource controller's to add, never the policy's
    assert "pod-eni" not in admission.MUTATION_EXPRESSION


@pytest.mark.parametrize(("version", "supported"), [("1.30", False), ("1.34", False), ("1.35", False),
                                                    ("1.36", True), ("1.37", True)])
def test_the_mutating_policy_needs_kubernetes_1_36(version: str, supported: bool) -> None:
    assert admission.mutation_supported(version) is supported


def test_the_independent_rbac_model_finds_exactly_the_intended_loosenings() -> None:
    """tests/helpers/rbac.py (the authorizer model the bundle's RBAC is judged by): a self-service
    tenant with a ServiceAccount role differs from the default only by the admin's Role and
    RoleBinding writes and the ServiceAccount subject — no other fence, no escalation verb."""
    from tests.helpers.rbac import WRITE_VERBS, escalation_problems

    t = tenant(selfService={"rbac": True}, serviceAccounts=["op"], kubernetesApiAccess=True,
               serviceAccountRoles={"op": "view"})
    manifests = plan.tenant_manifests(t, kubernetes_service_ip="172.20.0.1")
    assert escalation_problems(plan.tenant_manifests(tenant()), ["sigma"]) == []
    assert sorted(escalation_problems(manifests, ["sigma"])) == sorted(
        [f"Role sigma/tenancy-admin: may {v} rbac.authorization.k8s.io/{r}"
         for r in ("roles", "rolebindings") for v in WRITE_VERBS]
        + ["RoleBinding sigma/tenancy-sa-op: subject ServiceAccount 'op' is not one of the tenant's groups"])
