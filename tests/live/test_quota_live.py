"""LimitRange and ResourceQuota enforced by the real API server (quota status computed by the
controller manager), with a negative control."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import live
from tests.helpers.controlplane import Kube, wait_for

pytestmark = pytest.mark.live
Rendered = dict[str, list[dict[str, Any]]]


def test_limit_range_fills_defaults(kube: Kube, applied: Rendered) -> None:
    for t in live.tenants_of(applied):
        limits = live.of_kind(applied, t, "LimitRange")[0]["spec"]["limits"][0]
        v = live.admission(live.persona(kube, t, "edit"), live.pinned_pod(t))
        assert v.admitted and v.obj is not None, v.message
        resources = v.obj["spec"]["containers"][0]["resources"]
        assert resources == {"limits": limits["default"], "requests": limits["defaultRequest"]}, (t, resources)


def test_limit_range_maximum_per_container(kube: Kube, applied: Rendered) -> None:
    for t in live.tenants_of(applied):
        p = live.pinned_pod(t, "huge")
        p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1000", "memory": "4Ti"},
                                                   "requests": {"cpu": "1", "memory": "1Gi"}}
        v = live.admission(live.persona(kube, t, "edit"), p)
        assert not v.admitted and "maximum cpu usage per Container" in v.message, (t, v.message)


def test_resource_quota_caps_pods_and_negative_control(kube: Kube, applied: Rendered) -> None:
    """zeta may run 2 pods: the third is refused by the quota. Remove the quota (the fence): the
    third is admitted; restore it: refused again."""
    quota = live.of_kind(applied, "zeta", "ResourceQuota")[0]
    assert quota["spec"]["hard"]["pods"] == "2"
    editor = live.persona(kube, "zeta", "edit")
    pods = [live.pinned_pod("zeta", f"q{i}") for i in range(2)]
    try:
        for p in pods:
            v = live.admission(editor, p, dry_run=False)
            assert v.admitted, v.message
        third = live.pinned_pod("zeta", "q2")
        v = live.admission(editor, third)
        assert v.by_quota and "tenancy-quota" in v.message and "pods" in v.message, v.message

        kube.delete_obj(quota)
        try:
            wait_for("the third pod admitted without the quota", lambda: live.admission(editor, third).admitted, 60)
        finally:
            kube.apply(quota)
            live.wait_for_quota_status(kube, quota)
        wait_for("the quota enforced again", lambda: live.admission(editor, third).by_quota, 60)
    finally:
        for p in pods:  # other tests create (dry-run) pods in zeta
            kube.delete(kube.path_of(p), params={"gracePeriodSeconds": "0"})


def test_quota_caps_cpu_of_a_single_pod(kube: Kube, applied: Rendered) -> None:
    """beta's quota caps requests.cpu: a pod asking for more than the quota (but within the
    per-container maximum, several containers) is refused."""
    quota = live.of_kind(applied, "beta", "ResourceQuota")[0]["spec"]["hard"]
    limits = live.of_kind(applied, "beta", "LimitRange")[0]["spec"]["limits"][0]["max"]
    p = live.pinned_pod("beta", "greedy")
    container = p["spec"]["containers"][0]
    container["resources"] = {"requests": dict(limits), "limits": dict(limits)}
    n = 1
    while _cores(limits["cpu"]) * n <= _cores(quota["requests.cpu"]):
        n += 1
    p["spec"]["containers"] = [{**container, "name": f"c{i}"} for i in range(n)]
    v = live.admission(live.persona(kube, "beta", "edit"), p)
    assert v.by_quota and "cpu" in v.message, v.message


def _cores(q: str) -> float:
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)
