"""Tiers on the real API server: the rendered PriorityClasses and each tenant's ``tenancy-tier``
ResourceQuota (status computed by the controller manager). A tenant may run pods of its own tier's
class or of no class (priority 0); the other tier's class and the system-critical classes are
refused by the quota. Negative control: without the tier quota, the other tier's class is admitted."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.plan import admission as placement
from tenancy.plan import kubernetes as plan
from tests.helpers import live
from tests.helpers.controlplane import Kube, wait_for

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]
SYSTEM_CLASSES = ("system-cluster-critical", "system-node-critical")


def _tier(kube: Kube, tenant: str) -> str:
    return str(kube.get(f"/api/v1/namespaces/{tenant}")["metadata"]["labels"][placement.TIER_LABEL])


def _pod(tenant: str, priority_class: str | None, name: str = "tiered") -> dict[str, Any]:
    p = live.pinned_pod(tenant, name)
    if priority_class is not None:
        p["spec"]["priorityClassName"] = priority_class
    return p


def test_priority_classes_are_rendered_and_served(kube: Kube, applied: Rendered) -> None:
    classes = {o["metadata"]["name"]: o for o in live.of_kind(applied, "platform", "PriorityClass")}
    assert set(classes) == set(plan.PRIORITY_CLASSES.values())
    critical = kube.get("/apis/scheduling.k8s.io/v1/priorityclasses/system-cluster-critical")["value"]
    for name, obj in classes.items():
        served = kube.get(f"/apis/scheduling.k8s.io/v1/priorityclasses/{name}")
        assert served["value"] == obj["value"] and 0 < served["value"] < critical
        assert not served.get("globalDefault")  # false is omitted (omitempty)
    assert classes["tenancy-premium"]["value"] > classes["tenancy-standard"]["value"]
    assert classes["tenancy-standard"]["preemptionPolicy"] == "Never"


def test_the_live_platform_has_both_tiers(kube: Kube, applied: Rendered) -> None:
    tiers = {_tier(kube, t) for t in live.tenants_of(applied)}
    assert tiers == set(plan.TIERS), tiers


def test_each_tenant_runs_only_its_own_tier(kube: Kube, applied: Rendered) -> None:
    """Own class admitted (with its value); the other tier's class and the system-critical classes
    refused by tenancy-tier; no class admitted at priority 0."""
    for t in live.tenants_of(applied):
        tier = _tier(kube, t)
        own = plan.PRIORITY_CLASSES[tier]
        editor = live.persona(kube, t, "edit")
        ok = live.admission(editor, _pod(t, own))
        assert ok.admitted and ok.obj is not None, (t, ok.message)
        assert ok.obj["spec"]["priority"] == plan.PRIORITY_VALUES[tier]
        for other in [c for c in plan.PRIORITY_CLASSES.values() if c != own] + list(SYSTEM_CLASSES):
            v = live.admission(editor, _pod(t, other))
            assert v.by_quota and plan.TIER_QUOTA in v.message, (t, other, v.message)
        none = live.admission(editor, _pod(t, None))
        assert none.admitted and none.obj is not None, (t, none.message)
        assert none.obj["spec"].get("priority", 0) == 0


def test_standard_cannot_run_premium_and_premium_cannot_run_standard(kube: Kube, applied: Rendered) -> None:
    by_tier: dict[str, list[str]] = {}
    for t in live.tenants_of(applied):
        by_tier.setdefault(_tier(kube, t), []).append(t)
    for tier, tenants in by_tier.items():
        other = next(c for k, c in plan.PRIORITY_CLASSES.items() if k != tier)
        for t in tenants:
            v = live.admission(live.persona(kube, t, "admin"), _pod(t, other))
            assert v.by_quota and plan.TIER_QUOTA in v.message, (tier, t, v.message)


def test_tenants_cannot_write_priority_classes_or_their_tier(kube: Kube, applied: Rendered) -> None:
    for t in live.tenants_of(applied):
        admin = live.persona(kube, t, "admin")
        pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": f"{t}-max"},
              "value": 1_000_000_000}
        assert live.admission(admin, pc).by_rbac, t
        for verb in ("patch", "update"):
            assert not kube.can(f"live-{t}-admin", [live.persona_group(t, "admin")], verb, "namespaces", "", None), t


def test_negative_control_without_the_tier_quota_the_other_tier_is_admitted(kube: Kube, applied: Rendered) -> None:
    """Remove zeta's tenancy-tier quota: the other tier's class is admitted; restore it: refused."""
    quota = next(q for q in live.of_kind(applied, "zeta", "ResourceQuota") if q["metadata"]["name"] == plan.TIER_QUOTA)
    tier = _tier(kube, "zeta")
    other = next(c for k, c in plan.PRIORITY_CLASSES.items() if k != tier)
    editor = live.persona(kube, "zeta", "edit")
    probe = _pod("zeta", other)
    assert live.admission(editor, probe).by_quota
    kube.delete_obj(quota)
    try:
        wait_for("the other tier admitted without the quota", lambda: live.admission(editor, probe).admitted, 60)
    finally:
        kube.apply(copy.deepcopy(quota))
        live.wait_for_quota_status(kube, quota)
    wait_for("the tier quota enforced again", lambda: live.admission(editor, probe).by_quota, 60)
