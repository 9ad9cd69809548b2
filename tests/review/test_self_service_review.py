"""Self-service RBAC and injected placement (issue 26) in the isolation facts, ``tenancy diff`` and
``tenancy check`` (the policy pack runs the same rules), with negative controls."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.plan import admission
from tenancy.render import render_spec
from tenancy.review import check
from tenancy.review.diff import isolation_changes
from tenancy.review.facts import facts_of
from tests.fixtures.specs import spec_with, tenant

Resources = list[dict[str, Any]]


def _spec(self_service: bool) -> dict[str, Any]:
    return spec_with([tenant("sigma", 0, selfService={"rbac": self_service},
                             admins=["arn:aws:iam::111122223333:role/sigma-admins"]),
                      tenant("tau", 1, editors=["arn:aws:iam::111122223333:role/tau-devs"])],
                     kubernetesVersion="1.35")


@pytest.fixture(scope="module")
def base() -> Resources:
    return render_spec(_spec(False), stack="x").resources


@pytest.fixture(scope="module")
def head() -> Resources:
    return render_spec(_spec(True), stack="x").resources


@pytest.fixture(scope="module")
def injected() -> Resources:
    """A render as on Kubernetes 1.36+ (the calendar does not list it yet: the threshold is lowered)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(admission, "MUTATION_MIN_MINOR", 35)
    try:
        return render_spec(_spec(False), stack="x").resources
    finally:
        mp.undo()


def _rule(resources: Resources) -> list[check.Violation]:
    return check.self_service_rbac_bounded(resources, facts_of(resources))


def test_facts_name_who_writes_rbac(base: Resources, head: Resources) -> None:
    assert facts_of(base).rbac_writers() == {}
    assert "selfService" not in facts_of(base).document()
    assert facts_of(head).rbac_writers() == {"sigma": ["Group:tenancy:sigma:admins"]}
    assert facts_of(head).document()["selfService"] == {"rbac": {"sigma": ["Group:tenancy:sigma:admins"]}}
    assert facts_of(head).enforced["sigma"][admission.RBAC_POLICY_NAME] == ["Deny"]


def test_diff_shows_self_service_rbac_as_a_guarded_loosening(base: Resources, head: Resources) -> None:
    changes = [c for c in isolation_changes(facts_of(base), facts_of(head)) if c["layer"] == "rbac"]
    assert len(changes) == 1
    c = changes[0]
    assert (c["change"], c["tenant"]) == ("loosened", "sigma")
    assert "Group:tenancy:sigma:admins can now rbac.authorization.k8s.io/rolebindings:create" in c["detail"]
    assert "self-service RBAC" in c["detail"] and f"guarded by {admission.RBAC_POLICY_NAME}" in c["detail"]
    back = [c for c in isolation_changes(facts_of(head), facts_of(base)) if c["layer"] == "rbac"]
    assert [c["change"] for c in back] == ["tightened"] and "withdrawn" in back[0]["detail"]
    added = [c for c in isolation_changes(facts_of(base), facts_of(head)) if c["layer"] == "admission"]
    assert [c["detail"] for c in added if c["tenant"] is None] == [
        f"admission policy {admission.RBAC_POLICY_NAME} added"]


def test_check_passes_a_guarded_self_service_tenant(head: Resources) -> None:
    assert _rule(head) == []
    assert not check.failed(check.run_checks(head))


def test_negative_control_unguarded_self_service_fails(head: Resources) -> None:
    unguarded = [r for r in head if not (r["type"].endswith("ValidatingAdmissionPolicyBinding")
                                         and r["inputs"]["spec"]["policyName"] == admission.RBAC_POLICY_NAME)]
    assert len(unguarded) == len(head) - 1
    v = _rule(unguarded)
    assert [(x.tenant, x.rule) for x in v] == [("sigma", "self-service-rbac-bounded")]
    assert "Group:tenancy:sigma:admins" in v[0].message and "tenancy-tenant-rbac" in v[0].message
    # and the diff says so
    changes = isolation_changes(facts_of(head), facts_of(unguarded))
    assert any("no longer denies in sigma" in c["detail"] for c in changes)


def test_withdrawing_the_last_self_service_is_no_loosening_for_the_tenants_that_never_had_it(
        base: Resources, head: Resources) -> None:
    """head -> base: sigma's self-service RBAC is withdrawn, so the cluster's tenancy-tenant-rbac
    policy goes with it. That stops tau from nothing (tau's editors write no Roles or
    RoleBindings, before or after): a reviewer sees it as a change, not a loosening of tau."""
    changes = [c for c in isolation_changes(facts_of(head), facts_of(base)) if c["layer"] == "admission"]
    tau = [c for c in changes if c["tenant"] == "tau"]
    assert [c["change"] for c in tau] == ["changed"], tau
    assert "nothing of tau may write what it judged (rolebindings, roles) after the change" in tau[0]["detail"]
    removed = [c for c in changes if c["tenant"] is None]
    assert [c["change"] for c in removed] == ["changed"] and "removed" in removed[0]["detail"]
    assert not [c for c in isolation_changes(facts_of(head), facts_of(base))
                if c["change"] == "loosened"]


def test_negative_control_the_policy_removed_while_a_tenant_still_writes_rbac_is_a_loosening(
        head: Resources) -> None:
    """The same removal with sigma still holding self-service RBAC (the policy deleted by hand, or
    dropped by a bug): loosened, for sigma and for the cluster."""
    gone = [r for r in head if (r.get("inputs") or {}).get("metadata", {}).get("name") != admission.RBAC_POLICY_NAME
            and (r.get("inputs") or {}).get("spec", {}).get("policyName") != admission.RBAC_POLICY_NAME]
    assert len(gone) == len(head) - 2
    changes = [c for c in isolation_changes(facts_of(head), facts_of(gone)) if c["layer"] == "admission"]
    assert ("loosened", None) in {(c["change"], c["tenant"]) for c in changes}
    assert ("loosened", "sigma") in {(c["change"], c["tenant"]) for c in changes}
    assert ("changed", "tau") in {(c["change"], c["tenant"]) for c in changes}


@pytest.mark.parametrize("verb", ["escalate", "bind", "impersonate", "*"])
def test_negative_control_a_persona_lifting_escalation_prevention_fails(head: Resources, verb: str) -> None:
    changed = copy.deepcopy(head)
    role = next(r for r in changed if r["type"].endswith(":Role") and r.get("tenant") == "tau"
                and r["inputs"]["metadata"]["name"] == "tenancy-edit")
    role["inputs"]["rules"].append({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                                    "verbs": [verb]})
    v = _rule(changed)
    assert [(x.tenant, x.rule) for x in v] == [("tau", "self-service-rbac-bounded")]
    assert verb in v[0].message and "Group:tenancy:tau:editors" in v[0].message


def test_the_rule_ships_in_the_policy_pack() -> None:
    assert "self-service-rbac-bounded" in check.RULES_BY_ID


def test_injection_appears_in_the_facts_and_the_diff(base: Resources, injected: Resources) -> None:
    f = facts_of(injected)
    assert f.injected == {"sigma": [admission.MUTATING_POLICY_NAME], "tau": [admission.MUTATING_POLICY_NAME]}
    assert f.document()["mutating"]["policies"][admission.MUTATING_POLICY_NAME]["failurePolicy"] == "Ignore"
    assert "mutating" not in facts_of(base).document()
    changes = [c for c in isolation_changes(facts_of(base), f) if c["change"] == "changed"]
    assert {c["tenant"] for c in changes} == {None, "sigma", "tau"}
    assert all("placement policy still judges" in c["detail"] for c in changes if c["tenant"])
    # injection loosens nothing: the placement policy stays bound everywhere
    assert not [c for c in isolation_changes(facts_of(base), f) if c["change"] == "loosened"]
    assert not check.failed(check.run_checks(injected))


def test_a_self_service_namespace_waits_for_the_rbac_policy(head: Resources) -> None:
    """No moment when the admins could write RBAC before tenancy-tenant-rbac denies."""
    def deps(t: str) -> list[str]:
        ns = next(r for r in head if r["type"].endswith(":Namespace") and r.get("tenant") == t)
        return [d for d in ns["dependencies"] if "ValidatingAdmissionPolicyBinding::" in d and "tenant-rbac" in d]
    assert len(deps("sigma")) == 1 and deps("tau") == []


def _binding(res: Resources, ns: str, name: str, subject: str, cluster: bool = False) -> Resources:
    """``res`` plus a (Cluster)RoleBinding of ``subject`` to a role writing RoleBindings."""
    out = copy.deepcopy(res)
    kind = "ClusterRoleBinding" if cluster else "RoleBinding"
    out.append({"urn": f"urn:test::{kind}::{name}", "type": f"kubernetes:rbac.authorization.k8s.io/v1:{kind}",
                "name": name, "tenant": None, "custom": True, "outputs": {}, "parent": None, "dependencies": [],
                "inputs": {"metadata": {"name": name, **({} if cluster else {"namespace": ns})},
                           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                       "name": "rb-writer"},
                           "subjects": [{"kind": "Group", "name": subject}]}})
    out.append({"urn": "urn:test::ClusterRole::rb-writer",
                "type": "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "name": "rb-writer", "tenant": None,
                "custom": True, "outputs": {}, "parent": None,
                "dependencies": [], "inputs": {"metadata": {"name": "rb-writer"}, "rules": [
                    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]}]}})
    return out


@pytest.mark.parametrize(("ns", "cluster", "tenant_at_fault"), [("sigma", False, "sigma"), ("", True, "tau")])
def test_negative_control_rbac_writes_outside_the_tenants_own_namespace_fail(
        head: Resources, ns: str, cluster: bool, tenant_at_fault: str) -> None:
    """tau's editors writing RoleBindings in sigma's namespace, or in every namespace."""
    v = _rule(_binding(head, ns, "grab", "tenancy:tau:editors", cluster))
    assert [(x.tenant, x.rule) for x in v] == [(tenant_at_fault, "self-service-rbac-bounded")]
    assert "Group:tenancy:tau:editors writes Roles/RoleBindings" in v[0].message


# --------------------------------------------------------------------------------------------
# The sibling labels (a tenant with several namespaces) name only its own namespaces


@pytest.fixture(scope="module")
def multi() -> Resources:
    return render_spec(spec_with([tenant("sigma", 0, selfService={"rbac": True}, namespaces=["sigma-batch"]),
                                  tenant("tau", 1, namespaces=["tau-batch"])], kubernetesVersion="1.35"),
                       stack="x").resources


def _namespace(resources: Resources, name: str) -> dict[str, Any]:
    return next(r for r in resources if r["type"] == "kubernetes:core/v1:Namespace"
                and r["inputs"]["metadata"]["name"] == name)


def test_the_render_lists_each_tenants_own_namespaces(multi: Resources) -> None:
    assert _rule(multi) == []
    labels = _namespace(multi, "tau-batch")["inputs"]["metadata"]["labels"]
    assert {k for k in labels if k.startswith("namespace.tenancy/")} == {"namespace.tenancy/tau",
                                                                        "namespace.tenancy/tau-batch"}


@pytest.mark.parametrize(("key", "value", "whose"), [
    ("namespace.tenancy/tau", "tau", "tenant tau's namespace"),
    ("namespace.tenancy/kube-system", "kube-system", "no tenant's namespace"),
    ("namespace.tenancy/sigma-batch", "tau-batch", "tenant tau's namespace"),  # key and value disagree
])
def test_negative_control_a_label_naming_another_namespace_fails(multi: Resources, key: str, value: str,
                                                                 whose: str) -> None:
    changed = copy.deepcopy(multi)
    _namespace(changed, "sigma")["inputs"]["metadata"]["labels"][key] = value
    v = _rule(changed)
    assert [(x.tenant, x.rule) for x in v] == [("sigma", "self-service-rbac-bounded")]
    assert f"{key}={value} ({whose})" in v[0].message
