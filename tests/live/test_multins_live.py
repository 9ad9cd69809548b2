"""A tenant with several namespaces (issue 26) on a real API server: the render applied to its
own control plane; the tenant's editor works in both of its namespaces and in no other tenant's;
the placement policy refuses an unpinned pod in the EXTRA namespace as in the main one; the
quota shares are what the server enforces. Negative control: with the binding's selector
narrowed to the main namespace (as if the policy selected by name), the unpinned pod in the
extra namespace is admitted — the check can see the difference.

With self-service (xi): the admin binds a ServiceAccount of the tenant's other namespace, and that
ServiceAccount, once empowered, is judged by ``tenancy-tenant-rbac`` and the NetworkPolicy guard
like the tenant's people (negative control: without the namespace's sibling labels its foreign
binding is admitted — the hole the labels close)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tenancy.plan import admission as placement
from tenancy.render import render_spec
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane, Kube, wait_for

pytestmark = pytest.mark.live

SPEC = spec_with([
    tenant("mu", 0, namespaces=["mu-batch"], quota={"cpu": "4", "memory": "8Gi", "pods": 3},
           editors=["arn:aws:iam::111122223333:role/mu-devs"]),
    tenant("nu", 1, editors=["arn:aws:iam::111122223333:role/nu-devs"]),
    # self-service with two namespaces: its admins may bind the ServiceAccounts of either, in either
    tenant("xi", 2, namespaces=["xi-jobs"], selfService={"rbac": True, "networkPolicies": True},
           serviceAccounts=["runner"], kubernetesApiAccess=True, admins=["arn:aws:iam::111122223333:role/xi-admins"]),
])
RBAC = "rbac.authorization.k8s.io"
RUNNER = ("system:serviceaccount:xi-jobs:runner", "system:serviceaccounts", "system:serviceaccounts:xi-jobs")


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    yield from live.control_plane_in(tmp_path_factory, "multins")


@pytest.fixture(scope="module")
def kube(plane: ControlPlane) -> Kube:
    return plane.client()


@pytest.fixture(scope="module")
def rendered(kube: Kube) -> dict[str, list[dict[str, Any]]]:
    out = render_spec(SPEC, stack="live").manifests
    live.install_crds(kube)
    live.apply_render(kube, out)
    extra = live.unpinned_probe("mu")
    extra["metadata"]["namespace"] = "mu-batch"
    live.wait_until_policy_enforced(kube, extra, placement.POLICY_NAME)
    for q in live.of_kind(out, "mu", "ResourceQuota"):
        live.wait_for_quota_status(kube, q)
    return out


def _in(obj: dict[str, Any], ns: str) -> dict[str, Any]:
    o = copy.deepcopy(obj)
    o["metadata"]["namespace"] = ns
    return o


def test_the_extra_namespace_exists_with_the_tenants_labels(kube: Kube, rendered: Any) -> None:
    ns = kube.get("/api/v1/namespaces/mu-batch")
    labels = ns["metadata"]["labels"]
    assert labels["tenancy/tenant"] == "mu"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_editor_works_in_both_namespaces_and_in_no_other(kube: Kube, rendered: Any) -> None:
    editor = live.persona(kube, "mu", "edit")
    for ns in ("mu", "mu-batch"):
        v = live.admission(editor, _in(live.pinned_pod("mu"), ns))
        assert v.admitted, (ns, v.message)
    v = live.admission(editor, _in(live.pinned_pod("mu"), "nu"))
    assert v.by_rbac, v.message
    v = live.admission(live.persona(kube, "nu", "edit"), _in(live.pinned_pod("nu"), "mu-batch"))
    assert v.by_rbac, v.message


def test_no_persona_crosses_a_fence_in_either_namespace(kube: Kube, rendered: Any) -> None:
    for role in ("admin", "edit", "view"):
        assert live.fence_breaches(kube, "mu", role, ["mu", "nu"]) == []
        client = live.persona(kube, "mu", role)
        for ns in ("mu-batch",):
            np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "mine", "namespace": ns}, "spec": {"podSelector": {}}}
            assert live.admission(client, np).by_rbac, (role, ns)


def test_placement_refuses_an_unpinned_pod_in_the_extra_namespace(kube: Kube, rendered: Any) -> None:
    editor = live.persona(kube, "mu", "edit")
    v = live.admission(editor, _in(live.unpinned_probe("mu"), "mu-batch"))
    assert v.by_policy(placement.POLICY_NAME), v.message
    v = live.admission(editor, _in(live.pinned_pod("nu"), "mu-batch"))  # nu's nodes from mu's namespace
    assert v.by_policy(placement.POLICY_NAME), v.message


def test_quota_share_is_enforced_per_namespace(kube: Kube, rendered: Any) -> None:
    """pods: 3 split 2 + 1: the extra namespace holds one pod (created for real, then removed)."""
    editor = live.persona(kube, "mu", "edit")
    first = _in(live.pinned_pod("mu", "one"), "mu-batch")
    assert live.admission(editor, first, dry_run=False).admitted
    try:
        v = live.admission(editor, _in(live.pinned_pod("mu", "two"), "mu-batch"))
        assert v.by_quota, v.message
        assert live.admission(editor, _in(live.pinned_pod("mu", "two"), "mu")).admitted
    finally:
        kube.delete(kube.path_of(first))


def test_negative_control_binding_on_the_main_namespace_only(kube: Kube, rendered: Any) -> None:
    binding = next(o for o in rendered["platform"] if o["kind"] == "ValidatingAdmissionPolicyBinding"
                   and o["spec"]["policyName"] == placement.POLICY_NAME)
    narrowed = copy.deepcopy(binding)
    narrowed["spec"]["matchResources"]["namespaceSelector"] = {
        "matchLabels": {"kubernetes.io/metadata.name": "mu"}}
    kube.apply(narrowed)
    probe = _in(live.unpinned_probe("mu"), "mu-batch")
    try:
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME, enforced=False)
        assert live.admission(live.persona(kube, "mu", "edit"), probe).admitted
    finally:
        kube.apply(binding)
        live.wait_until_policy_enforced(kube, probe, placement.POLICY_NAME)


# ------------------------------------------------------------------------------------------------
# Self-service across the tenant's namespaces


def _rb(name: str, ns: str, role: str, *subjects: dict[str, str]) -> dict[str, Any]:
    return live.role_binding(name, ns, {"kind": "Role", "name": role}, *subjects)


def _sa(ns: str, name: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": ns}


def test_the_namespaces_list_their_siblings(kube: Kube, rendered: Any) -> None:
    for ns in ("xi", "xi-jobs"):
        labels = kube.get(f"/api/v1/namespaces/{ns}")["metadata"]["labels"]
        assert {k: v for k, v in labels.items() if k.startswith("namespace.tenancy/")} == {
            "namespace.tenancy/xi": "xi", "namespace.tenancy/xi-jobs": "xi-jobs"}
    assert not any(k.startswith("namespace.tenancy/") for k in kube.get("/api/v1/namespaces/nu")["metadata"]["labels"])


def test_an_admin_binds_a_service_account_of_its_other_namespace(kube: Kube, rendered: Any) -> None:
    admin = live.persona(kube, "xi", "admin")
    rb = _rb("jobs-edit", "xi", "tenancy-edit", _sa("xi-jobs", "runner"))
    v = live.admission(admin, rb, dry_run=False)
    assert v.admitted, v.message
    try:
        assert wait_for("the binding to reach the authorizer",
                        lambda: kube.can(RUNNER[0], RUNNER[1:], "create", "deployments", "apps", "xi"), 30)
        assert not kube.can(RUNNER[0], RUNNER[1:], "create", "deployments", "apps", "nu")
    finally:
        admin.delete_obj(rb)
    # another tenant's ServiceAccounts stay refused, named with the fix
    for subject in (_sa("nu", "default"), {"kind": "Group", "name": "system:serviceaccounts:nu", "apiGroup": RBAC}):
        v = live.admission(admin, _rb("share", "xi", "tenancy-view", subject))
        assert v.by_policy(placement.RBAC_POLICY_NAME), v.message
        assert "other namespaces" in v.policy_message(placement.RBAC_POLICY_NAME)


def test_that_service_account_is_judged_as_the_tenant_and_the_labels_are_what_makes_it_so(
        kube: Kube, rendered: Any) -> None:
    admin = live.persona(kube, "xi", "admin")
    rb = _rb("jobs-admin", "xi", "tenancy-admin", _sa("xi-jobs", "runner"))
    assert live.admission(admin, rb, dry_run=False).admitted
    runner = kube.as_user(RUNNER[0], RUNNER[2])  # this client impersonates one group
    opening = _rb("open", "xi", "tenancy-view", {"kind": "Group", "name": "system:authenticated", "apiGroup": RBAC})
    ns = next(o for o in rendered["xi"] if o["kind"] == "Namespace" and o["metadata"]["name"] == "xi")
    try:
        wait_for("the binding to reach the authorizer",
                 lambda: kube.can(RUNNER[0], RUNNER[1:], "create", "rolebindings", RBAC, "xi"), 30)
        assert kube.can(RUNNER[0], RUNNER[1:], "delete", "networkpolicies", "networking.k8s.io", "xi")
        v = live.admission(runner, opening)
        assert v.by_policy(placement.RBAC_POLICY_NAME), v.message
        wall = next(o for o in rendered["xi"] if o["kind"] == "NetworkPolicy" and o["metadata"]["namespace"] == "xi")
        v = live.update_admission(runner, {**kube.get(kube.path_of(wall)), "spec": {"podSelector": {}}})
        assert v.by_policy(placement.NETWORK_POLICY_GUARD_NAME), v.message
        # negative control: the namespace without its sibling labels (as before them): not the tenant, admitted
        bare = copy.deepcopy(ns)
        bare["metadata"]["labels"] = {k: v for k, v in ns["metadata"]["labels"].items()
                                      if not k.startswith("namespace.tenancy/")}
        kube.apply(bare)  # same field manager as the render's apply: the labels it leaves out are removed
        assert "namespace.tenancy/xi-jobs" not in kube.get(kube.path_of(bare))["metadata"]["labels"]
        wait_for("the ServiceAccount's foreign binding admitted without the labels",
                 lambda: live.admission(runner, opening).admitted, 60)
    finally:
        kube.apply(ns)
        wait_for("the ServiceAccount judged again",
                 lambda: live.admission(runner, opening).by_policy(placement.RBAC_POLICY_NAME), 60)
        admin.delete_obj(rb)
