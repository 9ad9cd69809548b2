"""Why a quota below the LimitRange's per-container maximum is refused (issue 28), asked of the real
API server: with ``quota.cpu: 1`` and ``maxPerContainer.cpu: 2`` (what the spec now refuses, built
by the same plan functions through ``model_copy``, which skips validation), a container the
LimitRange admits (1500m) is refused by the quota in an EMPTY namespace: no pod with it can ever
run. With the maximum within the quota (what the spec accepts), the LimitRange itself states the
real limit, and a container at that maximum is admitted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tenancy.plan import kubernetes as plan
from tenancy.spec import TenantSpec
from tenancy.spec.models import LimitsSpec, ResourcePair
from tests.helpers import live
from tests.helpers.controlplane import Kube, wait_for

pytestmark = pytest.mark.live
NS = "limits-probe"

TENANT = TenantSpec.model_validate({"name": NS, "slot": 9, "quota": {"cpu": "1", "memory": "4Gi"},
                                    "limits": {"maxPerContainer": {"cpu": "1", "memory": "1Gi"}}})
REFUSED = TENANT.model_copy(update={"limits": LimitsSpec(max_per_container=ResourcePair(cpu="2", memory="1Gi"))})


def test_the_spec_refuses_the_configuration_this_file_applies() -> None:
    with pytest.raises(ValueError, match=r"quota.cpu 1 is below limits.maxPerContainer.cpu 2"):
        TenantSpec.model_validate({**TENANT.model_dump(by_alias=True), "limits": REFUSED.limits.model_dump(
            by_alias=True)})


@pytest.fixture
def namespace(kube: Kube) -> Iterator[None]:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    kube.apply(ns)
    quota = plan.resource_quota(TENANT)
    kube.apply(quota)
    live.wait_for_quota_status(kube, quota)
    try:
        yield
    finally:
        kube.delete_obj(ns)


def _apply_limits(kube: Kube, tenant: TenantSpec) -> None:
    limits = plan.limit_range(tenant)
    kube.apply(limits)
    top = limits["spec"]["limits"][0]["max"]["cpu"]
    probe = _pod("probe", f"{top}1")  # just above the maximum: refused once the LimitRange is live
    wait_for(f"LimitRange max cpu {top}", lambda: "maximum cpu usage per Container" in
             live.admission(kube, probe).message, 30)


def _pod(name: str, cpu: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10", "resources": {
                "limits": {"cpu": cpu, "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}}]}}


def test_a_quota_below_the_maximum_refuses_what_the_limit_range_admits(kube: Kube, namespace: None) -> None:
    _apply_limits(kube, REFUSED)
    v = live.admission(kube, _pod("mid", "1500m"))
    assert v.by_quota and "limits.cpu" in v.message, v.message  # within max 2, over quota 1: never runs
    # negative control: the spec's accepted configuration (max = quota) says so up front, and a
    # container at the maximum fits the quota
    _apply_limits(kube, TENANT)
    v = live.admission(kube, _pod("mid", "1500m"))
    assert not v.admitted and "maximum cpu usage per Container is 1" in v.message, v.message
    assert live.admission(kube, _pod("top", "1")).admitted
