"""Each persona's fences, by SubjectAccessReview against the real RBAC authorizer, and what each
persona must still be able to do (a wall that blocks the tenant's own work is a defect)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tenancy.plan import kubernetes as plan
from tenancy.spec import naming
from tests.helpers import live
from tests.helpers.controlplane import Kube, wait_for

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]


@pytest.mark.parametrize("role", sorted(plan.PERSONAS))
def test_personas_cannot_cross_their_fences(role: str, kube: Kube, applied: Rendered) -> None:
    tenants = live.tenants_of(applied)
    breaches = {t: live.fence_breaches(kube, t, role, tenants) for t in tenants}
    assert breaches == {t: [] for t in tenants}


def test_no_binding_gives_a_tenant_group_more_than_its_role(kube: Kube, applied: Rendered) -> None:
    assert live.bindings_of_tenant_groups(kube, live.tenants_of(applied)) == []


def test_personas_can_do_what_their_role_grants(kube: Kube, applied: Rendered) -> None:
    """Operable: every rule of every rendered tenant Role is granted, by the real authorizer, to
    the group it is bound to, in its own namespace."""
    checks = []
    for t in live.tenants_of(applied):
        for role in live.of_kind(applied, t, "Role"):
            persona = role["metadata"]["name"].removeprefix(plan.ROLE_PREFIX)
            group = live.persona_group(t, persona)
            for rule in role["rules"]:
                for api_group in rule["apiGroups"]:
                    for res in rule["resources"]:
                        r, _, sub = res.partition("/")
                        for verb in rule["verbs"]:
                            checks.append((f"live-{t}-{persona}", group, verb, r, api_group, naming.namespace(t), sub))
    assert len(checks) > 100

    def denied(c: tuple[str, str, str, str, str, str, str]) -> tuple[str, ...] | None:
        user, group, verb, r, api_group, ns, sub = c
        return None if kube.can(user, [group], verb, r, api_group, ns, sub) else c

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert [c for c in pool.map(denied, checks) if c] == []


def test_admins_cannot_bind_cluster_admin_in_their_namespace(kube: Kube, applied: Rendered) -> None:
    """Not only the review: the actual request (dry run) is refused."""
    for t in live.tenants_of(applied):
        rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
              "metadata": {"name": "grab", "namespace": naming.namespace(t)},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
              "subjects": [{"kind": "Group", "name": live.persona_group(t, "admin"),
                            "apiGroup": "rbac.authorization.k8s.io"}]}
        v = live.admission(live.persona(kube, t, "admin"), rb)
        assert v.by_rbac, (t, v.message)


def test_negative_control_a_rolebinding_to_a_broad_clusterrole_is_detected(kube: Kube, applied: Rendered) -> None:
    """Add a RoleBinding of zeta's editors to the built-in ``admin`` ClusterRole: both checks see it;
    remove it: clean again."""
    tenants = live.tenants_of(applied)
    rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
          "metadata": {"name": "negative-control-admin", "namespace": "zeta"},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
          "subjects": [{"kind": "Group", "name": live.persona_group("zeta", "edit"),
                        "apiGroup": "rbac.authorization.k8s.io"}]}
    kube.apply(rb)
    try:
        # The RBAC authorizer sees new bindings through its informers: wait for it.
        breaches = wait_for("the binding to reach the authorizer",
                            lambda: live.fence_breaches(kube, "zeta", "edit", tenants), 30)
        assert "create networking.k8s.io/networkpolicies in zeta" in breaches, breaches
        assert "create rbac.authorization.k8s.io/rolebindings in zeta" in breaches, breaches
        assert live.bindings_of_tenant_groups(kube, tenants) == [
            "RoleBinding zeta/negative-control-admin binds tenancy:zeta:editors to ClusterRole admin"]
    finally:
        kube.delete_obj(rb)
    wait_for("the fences back", lambda: live.fence_breaches(kube, "zeta", "edit", tenants) == [], 30)


def test_negative_control_a_persona_bound_in_another_namespace_is_detected(kube: Kube, applied: Rendered) -> None:
    """Bind zeta's viewers to alpha's view Role inside alpha: the other-namespace check sees it."""
    tenants = live.tenants_of(applied)
    rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
          "metadata": {"name": "negative-control-cross", "namespace": "alpha"},
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenancy-view"},
          "subjects": [{"kind": "Group", "name": live.persona_group("zeta", "view"),
                        "apiGroup": "rbac.authorization.k8s.io"}]}
    kube.apply(rb)
    try:
        breaches = wait_for("the binding to reach the authorizer",
                            lambda: live.fence_breaches(kube, "zeta", "view", tenants), 30)
        assert "list core/pods in alpha" in breaches, breaches
    finally:
        kube.delete_obj(rb)
    wait_for("the fences back", lambda: live.fence_breaches(kube, "zeta", "view", tenants) == [], 30)
