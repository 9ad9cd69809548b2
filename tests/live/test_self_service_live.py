"""Self-service RBAC and injected placement (issue 26) judged by a real API server (v1.37: the
MutatingAdmissionPolicy is GA there, so its ``v1`` API and admission plugin are on by default).

Own control plane (module scope): the mutating policy applies to every tenant namespace, and the
shared control plane's tests need unpinned pods refused, not fixed.

- the real escalation check (``pkg/registry/rbac/escalation_check.go``) lets a self-service admin
  write a Role and RoleBinding within its rights and refuses one beyond them (negative control);
- ``tenancy-tenant-rbac`` refuses edits and deletes of the platform's ``tenancy-`` RoleBindings and
  bindings of another tenant's group or ServiceAccount, a ``system:`` group or a User;
- ``serviceAccountRoles`` gives the ServiceAccount exactly its persona role;
- ``tenancy-pod-placement-defaults`` mutates an unpinned pod created by a tenant's editor, which the
  placement policy then admits with the tenant's (or pool's) selector, toleration and tier; a pod
  with a wrong selector is still refused by the placement policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.plan import admission
from tenancy.plan import kubernetes as plan
from tenancy.render import RenderResult, render_spec, write_render
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane, Kube, wait_for

pytestmark = pytest.mark.live
RBAC = "rbac.authorization.k8s.io"
ADMIN_ARN = "arn:aws:iam::111122223333:role/sigma-admins"
POOL = "shared-a"


def self_service_spec() -> dict[str, Any]:
    """sigma: self-service RBAC, a ServiceAccount with the edit role; tau: a plain dedicated tenant;
    rho: pooled (standard tier)."""
    return spec_with([
        tenant("sigma", 0, selfService={"rbac": True}, serviceAccounts=["op", "idle"], kubernetesApiAccess=True,
               serviceAccountRoles={"op": "edit"}, admins=[ADMIN_ARN],
               editors=["arn:aws:iam::111122223333:role/sigma-devs"]),
        tenant("tau", 1, serviceAccounts=["app"], editors=["arn:aws:iam::111122223333:role/tau-devs"]),
        {"name": "rho", "pool": POOL, "editors": ["arn:aws:iam::111122223333:role/rho-devs"],
         "quota": {"cpu": "1", "memory": "1Gi"}, "limits": {"maxPerContainer": {"cpu": "1", "memory": "1Gi"}}},
    ], kubernetesVersion="1.35", nodePools=[{"name": POOL, "slot": 4}])


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    yield from live.control_plane_in(tmp_path_factory, "selfservice-controlplane")


@pytest.fixture(scope="module")
def kube(control_plane: ControlPlane) -> Kube:
    return control_plane.client()


@pytest.fixture(scope="module")
def render() -> RenderResult:
    """The render as on Kubernetes 1.36+, where it holds the mutating policy (the spec's calendar
    does not list 1.36 yet: the threshold is lowered for the render)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(admission, "MUTATION_MIN_MINOR", 35)
    try:
        return render_spec(self_service_spec(), stack="live")
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def rendered(kube: Kube, render: RenderResult) -> dict[str, list[dict[str, Any]]]:
    """The render applied: everything but the mutating policy first (the placement policy must be
    seen refusing an unpinned probe), then the mutating policy and its binding."""
    out = render.manifests
    mutating = {"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}
    assert sorted(o["kind"] for o in out["platform"] if o["kind"] in mutating) == sorted(mutating)
    live.install_crds(kube)
    live.apply_render(kube, {k: [o for o in v if o["kind"] not in mutating] for k, v in out.items()})
    for m in out["platform"]:
        if m["kind"] in mutating:
            kube.apply(m)
    wait_for("the mutating policy to pin a probe pod",
             lambda: live.admission(kube, live.unpinned_probe("tau")).admitted, 60)
    return out


_binding = live.role_binding


def _group(name: str) -> dict[str, str]:
    return {"kind": "Group", "name": name, "apiGroup": RBAC}


def _role(name: str, ns: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": rules}


def _admin(kube: Kube) -> Kube:
    return live.persona(kube, "sigma", "admin")


# ------------------------------------------------------------------------------------------------
# Self-service RBAC


def test_admin_writes_a_role_and_binding_within_its_rights(kube: Kube, rendered: Any) -> None:
    admin = _admin(kube)
    role = _role("deployers", "sigma", [{"apiGroups": ["apps"], "resources": ["deployments"],
                                         "verbs": ["get", "list", "update", "patch"]}])
    rb = _binding("deployers", "sigma", {"kind": "Role", "name": "deployers"},
                  _group(live.persona_group("sigma", "view")),
                  {"kind": "ServiceAccount", "name": "idle", "namespace": "sigma"})
    for obj in (role, rb):
        v = live.admission(admin, obj, dry_run=False)
        assert v.admitted, v.message
    # the grant works: sigma's viewers may now update deployments (they could not before)
    assert wait_for("the binding to reach the authorizer", lambda: kube.can(
        "live-sigma-view", [live.persona_group("sigma", "view")], "update", "deployments", "apps", "sigma"), 30)
    # binding one of the platform's persona Roles (which the admin holds) is within its rights too
    v = live.admission(admin, _binding("more-editors", "sigma", {"kind": "Role", "name": "tenancy-edit"},
                                       {"kind": "ServiceAccount", "name": "idle"}))
    assert v.admitted, v.message
    # and it can remove what it made
    admin.delete_obj(rb)
    admin.delete_obj(role)


@pytest.mark.parametrize("what", ["secrets-everywhere", "escalate", "bind", "impersonate", "nodes"])
def test_negative_control_a_role_beyond_the_admins_rights_is_refused_by_the_api_server(
        kube: Kube, rendered: Any, what: str) -> None:
    rules = {
        "secrets-everywhere": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}],  # admin: no escalate
        "escalate": [{"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate"]}],
        "bind": [{"apiGroups": [RBAC], "resources": ["roles", "clusterroles"], "verbs": ["bind"]}],
        "impersonate": [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}],
        "nodes": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["update"]}],
    }[what]
    v = live.admission(_admin(kube), _role(f"grab-{what}", "sigma", rules))
    assert not v.admitted and v.status == 403, v.message
    assert "attempting to grant RBAC permissions not currently held" in v.message, v.message


@pytest.mark.parametrize("role", ["admin", "cluster-admin", "edit", "system:aggregate-to-edit",
                                  "cluster-autoscaler"])  # the last: the platform's own ClusterRole
def test_negative_control_binding_a_clusterrole_beyond_the_admins_rights_is_refused(
        kube: Kube, rendered: Any, role: str) -> None:
    rb = _binding("grab", "sigma", {"kind": "ClusterRole", "name": role}, _group(live.persona_group("sigma", "edit")))
    v = live.admission(_admin(kube), rb)
    assert not v.admitted and v.status == 403, v.message
    assert "attempting to grant RBAC permissions not currently held" in v.message, v.message


def test_a_tenant_without_self_service_cannot_write_roles(kube: Kube, rendered: Any) -> None:
    v = live.admission(live.persona(kube, "tau", "admin"), _role("mine", "tau", []))
    assert v.by_rbac, v.message


@pytest.mark.parametrize("subject", [
    _group("tenancy:tau:editors"),
    _group("system:authenticated"),
    _group("system:serviceaccounts"),
    _group("system:serviceaccounts:tau"),
    {"kind": "ServiceAccount", "name": "app", "namespace": "tau"},
    {"kind": "User", "name": "arn:aws:iam::111122223333:role/tau-devs", "apiGroup": RBAC},
])
def test_binding_a_subject_outside_the_tenant_is_refused(kube: Kube, rendered: Any, subject: dict[str, str]) -> None:
    rb = _binding("share", "sigma", {"kind": "Role", "name": "tenancy-view"}, subject)
    v = live.admission(_admin(kube), rb)
    assert v.by_policy(admission.RBAC_POLICY_NAME), v.message
    assert subject["name"] in v.policy_message(admission.RBAC_POLICY_NAME)


@pytest.mark.parametrize("name", ["tenancy-admins", "tenancy-viewers", "tenancy-sa-op"])
def test_the_platforms_rolebindings_cannot_be_changed_or_deleted(kube: Kube, rendered: Any, name: str) -> None:
    admin = _admin(kube)
    current = kube.get(f"/apis/{RBAC}/v1/namespaces/sigma/rolebindings/{name}")
    changed = {**current, "subjects": [*current["subjects"], _group(live.persona_group("sigma", "edit"))]}
    v = live.update_admission(admin, changed)
    assert v.by_policy(admission.RBAC_POLICY_NAME), v.message
    with pytest.raises(Exception) as exc:
        admin.request("DELETE", f"/apis/{RBAC}/v1/namespaces/sigma/rolebindings/{name}",
                      params={"dryRun": "All"})
    assert admission.RBAC_POLICY_NAME in str(exc.value)
    # a new object with the platform's prefix is refused too
    v = live.admission(admin, _binding("tenancy-extra", "sigma", {"kind": "Role", "name": "tenancy-view"},
                                       _group(live.persona_group("sigma", "view"))))
    assert v.by_policy(admission.RBAC_POLICY_NAME), v.message


def test_the_platform_role_cannot_be_widened(kube: Kube, rendered: Any) -> None:
    current = kube.get(f"/apis/{RBAC}/v1/namespaces/sigma/roles/tenancy-view")
    widened = {**current, "rules": [*current["rules"], {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}
    v = live.update_admission(_admin(kube), widened)
    assert v.by_policy(admission.RBAC_POLICY_NAME), v.message


def test_a_service_account_the_admin_empowered_cannot_edit_the_platforms_bindings(kube: Kube, rendered: Any) -> None:
    """The admin binds its own admin Role to a ServiceAccount (within its rights); the
    ServiceAccount is then 'the tenant' to the policy, not a way around it."""
    admin = _admin(kube)
    rb = _binding("op-admin", "sigma", {"kind": "Role", "name": "tenancy-admin"},
                  {"kind": "ServiceAccount", "name": "idle"})
    assert live.admission(admin, rb, dry_run=False).admitted
    try:
        sa = kube.as_user("system:serviceaccount:sigma:idle", "system:serviceaccounts:sigma")
        current = kube.get(f"/apis/{RBAC}/v1/namespaces/sigma/rolebindings/tenancy-admins")
        wait_for("the binding to reach the authorizer", lambda: kube.can(
            "system:serviceaccount:sigma:idle", ["system:serviceaccounts:sigma"], "update", "rolebindings", RBAC,
            "sigma"), 30)
        v = live.update_admission(sa, {**current, "subjects": [_group("tenancy:tau:admins")]})
        assert v.by_policy(admission.RBAC_POLICY_NAME), v.message
    finally:
        admin.delete_obj(rb)


def test_the_platform_itself_may_still_change_its_bindings(kube: Kube, rendered: Any) -> None:
    """The policy judges only the tenant's side: the deployer (here the test's admin) is not matched."""
    current = kube.get(f"/apis/{RBAC}/v1/namespaces/sigma/rolebindings/tenancy-viewers")
    assert live.update_admission(kube, current).admitted


def test_service_account_roles_grant_exactly_the_persona_role(kube: Kube, rendered: Any) -> None:
    user, groups = "system:serviceaccount:sigma:op", ["system:serviceaccounts", "system:serviceaccounts:sigma"]
    assert kube.can(user, groups, "create", "deployments", "apps", "sigma")
    assert not kube.can(user, groups, "create", "networkpolicies", "networking.k8s.io", "sigma")
    assert not kube.can(user, groups, "create", "roles", RBAC, "sigma")
    assert not kube.can(user, groups, "get", "pods", "", "tau")
    # negative control: a ServiceAccount without an entry gets nothing
    assert not kube.can("system:serviceaccount:sigma:idle", ["system:serviceaccounts:sigma"], "get", "pods", "",
                        "sigma")


# ------------------------------------------------------------------------------------------------
# Placement injected


def _unpinned(t: str, **spec: Any) -> dict[str, Any]:
    p = live.pinned_pod(t, "unpinned")
    del p["spec"]["nodeSelector"]
    del p["spec"]["tolerations"]
    p["spec"].update(spec)
    return p


def test_an_unpinned_pod_is_mutated_then_admitted_dedicated(kube: Kube, rendered: Any) -> None:
    v = live.admission(live.persona(kube, "tau", "edit"), _unpinned("tau"))
    assert v.admitted, v.message
    spec = v.obj["spec"]  # type: ignore[index]
    assert spec["nodeSelector"] == {admission.TENANT_LABEL: "tau"}
    assert {"key": "tenancy/tenant", "operator": "Equal", "value": "tau", "effect": "NoSchedule"} in spec["tolerations"]
    # the API server's default tolerations are kept (the toleration is appended)
    assert any(t.get("key") == "node.kubernetes.io/not-ready" for t in spec["tolerations"])
    assert spec["priorityClassName"] == "tenancy-premium"
    assert spec["priority"] == plan.PRIORITY_VALUES["premium"]
    assert spec["preemptionPolicy"] == "PreemptLowerPriority"


def test_an_unpinned_pod_is_mutated_then_admitted_pooled(kube: Kube, rendered: Any) -> None:
    p = live.pooled_pod("rho", POOL, "unpinned")
    del p["spec"]["nodeSelector"]
    del p["spec"]["tolerations"]
    v = live.admission(live.persona(kube, "rho", "edit"), p)
    assert v.admitted, v.message
    spec = v.obj["spec"]  # type: ignore[index]
    assert spec["nodeSelector"] == {"tenancy/pool": POOL}
    assert {"key": "tenancy/pool", "operator": "Equal", "value": POOL, "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["priorityClassName"] == "tenancy-standard"
    assert spec["priority"] == plan.PRIORITY_VALUES["standard"]
    assert spec["preemptionPolicy"] == "Never"


def test_a_pod_keeps_what_it_sets(kube: Kube, rendered: Any) -> None:
    """Own selector keys and tolerations stay; only the missing placement key is added."""
    p = _unpinned("tau", nodeSelector={"disktype": "ssd"},
                  tolerations=[{"key": "tenancy/tenant", "operator": "Equal", "value": "tau", "effect": "NoSchedule"}],
                  priorityClassName="tenancy-premium")
    v = live.admission(live.persona(kube, "tau", "edit"), p)
    assert v.admitted, v.message
    spec = v.obj["spec"]  # type: ignore[index]
    assert spec["nodeSelector"] == {"disktype": "ssd", "tenancy/tenant": "tau"}
    assert [t for t in spec["tolerations"] if t.get("key") == "tenancy/tenant"] == [
        {"key": "tenancy/tenant", "operator": "Equal", "value": "tau", "effect": "NoSchedule"}]


@pytest.mark.parametrize(("t", "wrong"), [("tau", {"tenancy/tenant": "sigma"}), ("rho", {"tenancy/pool": "shared-b"})])
def test_a_pod_with_a_wrong_selector_is_still_refused(kube: Kube, rendered: Any, t: str, wrong: dict[str, str]) -> None:
    """The placement key is there with another value: never corrected, refused by the judge."""
    p = live.pooled_pod(t, POOL, "wrong") if t == "rho" else _unpinned(t)
    p["spec"]["nodeSelector"] = wrong
    p["spec"].pop("tolerations", None)
    v = live.admission(live.persona(kube, t, "edit"), p)
    assert v.by_policy(admission.POLICY_NAME), v.message


def test_a_foreign_toleration_is_still_refused(kube: Kube, rendered: Any) -> None:
    p = _unpinned("tau", tolerations=[{"key": "tenancy/tenant", "operator": "Equal", "value": "sigma",
                                       "effect": "NoSchedule"}])
    v = live.admission(live.persona(kube, "tau", "edit"), p)
    assert v.by_policy(admission.POLICY_NAME), v.message


def test_another_tiers_class_is_still_refused(kube: Kube, rendered: Any) -> None:
    p = live.pooled_pod("rho", POOL, "premium")
    p["spec"]["priorityClassName"] = "tenancy-premium"
    v = live.admission(live.persona(kube, "rho", "edit"), p)
    assert v.by_quota, v.message


def test_negative_control_without_the_mutating_binding_the_unpinned_pod_is_refused(
        kube: Kube, rendered: Any) -> None:
    binding = admission.placement_mutation_binding()
    kube.delete_obj(binding)
    try:
        wait_for("the unpinned pod to be refused again",
                 lambda: live.admission(kube, _unpinned("tau")).by_policy(admission.POLICY_NAME), 60)
    finally:
        kube.apply(binding)
        wait_for("the mutating policy to pin again", lambda: live.admission(kube, _unpinned("tau")).admitted, 60)


def test_controller_pods_are_mutated_too(kube: Kube, rendered: Any) -> None:
    """A Deployment whose template names no placement: its ReplicaSet's pods are created."""
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "tau"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}}, "spec": _unpinned("tau")["spec"]}}}
    live.persona(kube, "tau", "edit").apply(d)
    try:
        pods = wait_for("the Deployment's pod", lambda: kube.get(
            "/api/v1/namespaces/tau/pods", params={"labelSelector": "app=web"})["items"], 60)
        assert pods[0]["spec"]["nodeSelector"] == {"tenancy/tenant": "tau"}
    finally:
        kube.delete_obj(d)



# ------------------------------------------------------------------------------------------------
# tenancy verify on the self-service platform


def _verify(cp: ControlPlane, render_dir: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(["verify", "--render", str(render_dir), "--kubeconfig", str(cp.kubeconfig_path), "--skip-aws",
                 "--format", "json", "--out", str(out)])
    return code, json.loads(out.read_text())


def _checks(doc: Any, status: str) -> list[tuple[str, str | None, str]]:
    return sorted(((c["check"], c["tenant"], c["object"]) for c in doc["checks"] if c["status"] == status),
                  key=lambda c: (c[0], c[1] or "", c[2]))


def test_verify_holds_with_tenant_owned_rbac_and_finds_a_foreign_binding(
        control_plane: ControlPlane, kube: Kube, render: RenderResult, rendered: Any, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    render_dir = write_render(render, tmp_path / "render")
    admin = _admin(kube)
    role = _role("deployers", "sigma", [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]}])
    rb = _binding("deployers", "sigma", {"kind": "Role", "name": "deployers"},
                  _group(live.persona_group("sigma", "view")))
    for obj in (role, rb):
        assert live.admission(admin, obj, dry_run=False).admitted
    try:
        code, doc = _verify(control_plane, render_dir, tmp_path / "evidence.json", capsys)
        # The only failures: the pooled tenant's pods lack the pod-eni request that the VPC resource
        # controller's webhook adds on EKS (the testenv has no such webhook). The unpinned one got
        # that far: its pool selector and toleration were injected.
        pod_eni = [c for c in doc["checks"] if c["status"] == "fail" and c["tenant"] == "rho"
                   and "must request vpc.amazonaws.com/pod-eni" in c["detail"]]
        assert len(pod_eni) == 2 and any("placement injected" in c["object"] for c in pod_eni)
        assert (code, doc["summary"]["fail"]) == (3, 2), _checks(doc, "fail")
        passed = _checks(doc, "pass")
        assert ("drift.kubernetes.extra", "sigma", "RoleBinding sigma/deployers") in passed
        assert ("behaviour.rbac", "sigma", "persona admin") in passed
        assert any(c == ("drift.kubernetes", None, "MutatingAdmissionPolicy tenancy-pod-placement-defaults")
                   for c in passed)
        assert any(c[0] == "behaviour.admission" and "placement injected, then judged" in c[2] for c in passed)
        # negative control: a binding of another tenant's group, written past the policy by the platform's admin
        foreign = _binding("foreign", "sigma", {"kind": "Role", "name": "tenancy-view"}, _group("tenancy:tau:editors"))
        kube.apply(foreign)
        try:
            code, doc = _verify(control_plane, render_dir, tmp_path / "evidence2.json", capsys)
            assert code == 3
            fails = _checks(doc, "fail")
            # the extra binding, and what it does: tau's editors now reach into sigma's namespace
            assert ("drift.kubernetes.extra", "sigma", "RoleBinding sigma/foreign") in fails
            assert ("behaviour.rbac", "tau", "persona edit") in fails
        finally:
            kube.delete_obj(foreign)
        # negative control: the mutating policy's binding removed is drift, and the unpinned probe is refused
        binding = next(m for m in rendered["platform"] if m["kind"] == "MutatingAdmissionPolicyBinding")
        kube.delete_obj(binding)
        try:
            wait_for("the unpinned pod to be refused again",
                     lambda: live.admission(kube, _unpinned("tau")).by_policy(admission.POLICY_NAME), 60)
            code, doc = _verify(control_plane, render_dir, tmp_path / "evidence3.json", capsys)
            fails = _checks(doc, "fail")
            assert code == 3
            assert ("drift.kubernetes", None, f"MutatingAdmissionPolicyBinding {admission.MUTATING_POLICY_NAME}") \
                in fails
            assert any(c[:2] == ("behaviour.admission", "tau") and "placement injected" in c[2] for c in fails)
        finally:
            kube.apply(binding)
            wait_for("the mutating policy to pin again", lambda: live.admission(kube, _unpinned("tau")).admitted, 60)
    finally:
        admin.delete_obj(rb)
        admin.delete_obj(role)
