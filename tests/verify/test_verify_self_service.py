"""tenancy verify with self-service RBAC and injected placement (issue 26), offline: which access
reviews the admin persona of a self-service tenant may pass (and which it must still fail), which
extra Roles/RoleBindings are the tenant's own, the dry-run probes with injection, and the
verifier's own RBAC (``--print-rbac``) reading the mutating policy. On a real API server:
tests/live/test_self_service_live.py (``test_verify_holds_with_tenant_owned_rbac…``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tenancy.plan import admission
from tenancy.render import render_spec
from tenancy.verify import kube as K
from tenancy.verify.rbac import verifier_rbac
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.vap import admit

RBAC = "rbac.authorization.k8s.io"


def _spec() -> dict[str, Any]:
    return spec_with([tenant("sigma", 0, selfService={"rbac": True}), tenant("tau", 1)], kubernetesVersion="1.35")


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    mp = pytest.MonkeyPatch()
    mp.setattr(admission, "MUTATION_MIN_MINOR", 35)
    try:
        return render_spec(_spec(), stack="x").resources
    finally:
        mp.undo()


class Reviews:
    """Answers access reviews: the self-service admin may write Roles/RoleBindings in its own
    namespace; ``extra`` lists (verb, resource) it may do besides."""

    def __init__(self, extra: Sequence[tuple[str, str]] = ()):
        self.extra = set(extra)

    def can(self, user: str, groups: Sequence[str], verb: str, group: str, resource: str, namespace: str | None,
            sub: str = "", name: str = "") -> bool:
        if "tenancy:sigma:admins" not in groups or namespace != "sigma":
            return False
        return (group == RBAC and resource in ("roles", "rolebindings") and verb in ("create", "patch", "delete")) \
            or (verb, resource) in self.extra


def _statuses(results: list[Any]) -> dict[tuple[str | None, str], str]:
    return {(r.tenant, r.object): r.status for r in results}


def test_the_render_names_its_self_service_tenants(resources: list[dict[str, Any]]) -> None:
    assert K.self_service_tenants(resources) == {"sigma"}


def test_a_self_service_admin_writing_rbac_passes_and_without_the_grant_it_fails() -> None:
    ok = _statuses(K.rbac_behaviour(Reviews(), ["sigma", "tau"], self_service={"sigma"}))
    assert set(ok.values()) == {"pass"}
    # negative control: the same answers for a tenant the render does not make self-service
    bad = _statuses(K.rbac_behaviour(Reviews(), ["sigma", "tau"], self_service=set()))
    assert bad[("sigma", "persona admin")] == "fail"


@pytest.mark.parametrize(("verb", "resource"), [("bind", "roles"), ("escalate", "rolebindings"),
                                                ("bind", "clusterroles"), ("escalate", "roles"),
                                                ("impersonate", "users"), ("create", "networkpolicies")])
def test_a_self_service_admin_still_fails_on_escalation_and_fences(verb: str, resource: str) -> None:
    got = _statuses(K.rbac_behaviour(Reviews([(verb, resource)]), ["sigma", "tau"], self_service={"sigma"}))
    assert got[("sigma", "persona admin")] == "fail"


def _extra(ns: str, name: str, *subjects: dict[str, Any], kind: str = "RoleBinding") -> tuple[str, dict[str, Any], str]:
    obj: dict[str, Any] = {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": {"name": name, "namespace": ns}}
    if kind == "RoleBinding":
        obj.update(roleRef={"apiGroup": RBAC, "kind": "Role", "name": "tenancy-view"}, subjects=list(subjects))
    return ns, obj, "not in the render"


@pytest.mark.parametrize(("extra", "status"), [
    (_extra("sigma", "mine", {"kind": "Group", "name": "tenancy:sigma:viewers"}), "pass"),
    (_extra("sigma", "mine", {"kind": "ServiceAccount", "name": "op"}), "pass"),
    (_extra("sigma", "deployers", kind="Role"), "pass"),
    (_extra("sigma", "share", {"kind": "Group", "name": "tenancy:tau:editors"}), "fail"),
    (_extra("sigma", "everyone", {"kind": "Group", "name": "system:authenticated"}), "fail"),
    (_extra("sigma", "tenancy-extra", {"kind": "Group", "name": "tenancy:sigma:viewers"}), "fail"),
    (_extra("tau", "mine", {"kind": "Group", "name": "tenancy:tau:viewers"}), "fail"),  # tau is not self-service
])
def test_extras_are_the_tenants_own_only_inside_its_fences(extra: tuple[str, dict[str, Any], str], status: str,
                                                           resources: list[dict[str, Any]]) -> None:
    live = K.Live(objects=[], extras=[extra], cluster_roles={})
    results = K.drift(live, K.self_service_tenants(resources), K.tenant_namespaces(resources))
    assert [r.status for r in results if r.check == "drift.kubernetes.extra"] == [status]


def test_with_injection_the_unpinned_probe_must_be_admitted_and_the_others_refused() -> None:
    plain = {name: must for name, must, _ in K.admission_probes("sigma", ["sigma", "tau"])}
    injected = {name: must for name, must, _ in K.admission_probes("sigma", ["sigma", "tau"], injected=True)}
    assert plain["pod without its node selector"] is False
    assert injected["pod without its node selector (placement injected, then judged)"] is True
    assert injected["pod on tau's nodes"] is False and injected["privileged pod"] is False


def test_the_render_holds_the_injection_policy(resources: list[dict[str, Any]]) -> None:
    assert K.injection_policy(resources) == admission.MUTATING_POLICY_NAME


def test_print_rbac_reads_the_mutating_policy_and_binding_by_name(resources: list[dict[str, Any]]) -> None:
    role = verifier_rbac(resources)[0]
    gets = {(tuple(r["apiGroups"]), tuple(r["resources"])): r.get("resourceNames") for r in role["rules"]
            if r.get("verbs") == ["get"] and "resources" in r}
    assert gets[(("admissionregistration.k8s.io",), ("mutatingadmissionpolicies",))] == [admission.MUTATING_POLICY_NAME]
    assert gets[(("admissionregistration.k8s.io",), ("mutatingadmissionpolicybindings",))] == [
        admission.MUTATING_POLICY_NAME]
    assert gets[(("admissionregistration.k8s.io",), ("validatingadmissionpolicies",))] is not None
    assert admission.RBAC_POLICY_NAME in gets[(("admissionregistration.k8s.io",), ("validatingadmissionpolicies",))]


# --------------------------------------------------------------------------------------------
# A self-service tenant with several namespaces: verify and the admission policy agree on "own"

SUBJECTS = [
    {"kind": "ServiceAccount", "name": "op", "namespace": "sigma-batch"},
    {"kind": "Group", "name": "system:serviceaccounts:sigma-batch", "apiGroup": RBAC},
    {"kind": "ServiceAccount", "name": "op", "namespace": "sigma"},
    {"kind": "Group", "name": "tenancy:sigma:editors", "apiGroup": RBAC},
    {"kind": "ServiceAccount", "name": "app", "namespace": "tau"},
    {"kind": "Group", "name": "system:serviceaccounts:tau", "apiGroup": RBAC},
    {"kind": "Group", "name": "system:serviceaccounts", "apiGroup": RBAC},
    {"kind": "User", "name": "system:serviceaccount:sigma-batch:op", "apiGroup": RBAC},
]


@pytest.fixture(scope="module")
def multi() -> list[dict[str, Any]]:
    return render_spec(spec_with([tenant("sigma", 0, selfService={"rbac": True}, namespaces=["sigma-batch"]),
                                  tenant("tau", 1)], kubernetesVersion="1.35"), stack="x").resources


@pytest.mark.parametrize("subject", SUBJECTS, ids=[f"{s['kind']}-{s['name']}-{s.get('namespace', '')}"
                                                   for s in SUBJECTS])
def test_an_extra_binding_is_own_to_verify_exactly_when_the_policy_admits_it(
        subject: dict[str, Any], multi: list[dict[str, Any]]) -> None:
    """The ServiceAccounts of the tenant's other namespace are its own to both judges (verify's
    ``drift.kubernetes.extra`` and the policy); another
    tenant's and system: groups to neither (cel-python runs the rendered policy)."""
    manifests = [K.manifest_of(r) for r in multi if K.is_kubernetes_object(r)]
    policy = next(m for m in manifests if m["kind"] == "ValidatingAdmissionPolicy"
                  and m["metadata"]["name"] == admission.RBAC_POLICY_NAME)
    binding = next(m for m in manifests if m["kind"] == "ValidatingAdmissionPolicyBinding"
                   and m["spec"]["policyName"] == admission.RBAC_POLICY_NAME)
    ns = next(m for m in manifests if m["kind"] == "Namespace" and m["metadata"]["name"] == "sigma")
    ns = {**ns, "metadata": {**ns["metadata"], "labels": {**ns["metadata"]["labels"],
                                                          "kubernetes.io/metadata.name": "sigma"}}}
    _, obj, why = _extra("sigma", "mine", subject)
    decision = admit(policy, binding, obj, ns, resource="rolebindings", group=RBAC, kind="RoleBinding",
                     user="live-sigma-admin", groups=("tenancy:sigma:admins",))
    live = K.Live(objects=[], extras=[("sigma", obj, why)], cluster_roles={})
    [verdict] = [r.status for r in K.drift(live, K.self_service_tenants(multi), K.tenant_namespaces(multi))
                 if r.check == "drift.kubernetes.extra"]
    own = subject.get("namespace") != "tau" and subject["name"] not in (
        "system:serviceaccounts", "system:serviceaccounts:tau")
    assert decision.applies
    assert (verdict == "pass") == own, verdict
    # The policy is stricter in one spelling only: a User named after the tenant's own ServiceAccount
    # grants that ServiceAccount (RBAC matches a User subject by username), so verify calls it own;
    # the policy refuses every User (only the platform could have written it).
    assert (not decision.denied) == (own and subject["kind"] != "User"), decision.violations
