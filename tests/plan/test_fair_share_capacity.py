"""The capacity preflight and the report account for issue 23's quotas: a pool's tenants' local
disk must fit its nodes, and the report shows local disk per pool and the etcd worst case."""

from __future__ import annotations

import pytest

from tenancy.plan import pools
from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError
from tests.fixtures.pools import pooled_platform
from tests.fixtures.specs import limits_within, spec_with


def _pool_spec(disk: int, tenants: int, eph: str | None = None) -> dict:
    quota = {"ephemeralStorage": eph} if eph else {}
    return spec_with([{"name": f"t{i}", "pool": "shared", "quota": {**quota, "pods": 2, "cpu": "1", "memory": "2Gi"},
                       "limits": limits_within("1", "2Gi")} for i in range(tenants)],
                     nodePools=[{"name": "shared", "slot": 4, "nodes": {
                         "instanceTypes": ["m6i.2xlarge"], "minSize": 1, "maxSize": 2, "diskSizeGib": disk}}])


def test_pod_disk_per_node_arithmetic() -> None:
    spec = load_platform(_pool_spec(50, 1))
    pc = pools.pool_capacity(spec, "shared")
    # 50 GiB x 0.9 - 1 GiB kube-reserved - 20 GiB OS and images = 24 GiB per node, 2 nodes.
    assert pc.pod_disk_per_node_bytes == 24 * 2**30 and pc.pod_disk_bytes == 48 * 2**30
    assert pc.ephemeral_bytes == 3 * 2**30  # the pooled default


def test_a_pool_oversubscribed_on_local_disk_is_refused_with_the_fix() -> None:
    with pytest.raises(SpecError) as exc:
        load_platform(_pool_spec(50, 5, "10Gi"))  # 50 GiB of requests on 48 GiB
    text = str(exc.value)
    assert "nodePools[0] (shared).nodes.diskSizeGib" in text
    assert "oversubscribed on local disk" in text and "50.0 GiB" in text and "48.0 GiB" in text
    assert "raise nodes.diskSizeGib" in text
    # Negative controls: a bigger disk, or smaller quotas, fit.
    load_platform(_pool_spec(60, 5, "10Gi"))
    load_platform(_pool_spec(50, 5, "9Gi"))


def test_the_scale_fixture_still_fits() -> None:
    load_platform(pooled_platform(200))


def test_report_shows_local_disk_and_etcd() -> None:
    spec = load_platform(_pool_spec(50, 4))
    lines = "\n".join(pools.report_lines(spec))
    assert "local disk / for pods" in lines and "| 12.0 GiB / 48.0 GiB |" in lines
    etcd = "\n".join(pools.etcd_lines(spec))
    # 4 tenants x (50 Secrets + 50 ConfigMaps) x 1 MiB = 400 MiB
    assert "at most 0.4 GiB of EKS's 8.0 GiB etcd (5%)" in etcd and "Over 100%" not in etcd
    many = load_platform(spec_with([{"name": f"t{i}", "pool": "shared", "quota": {
        "pods": 1, "ephemeralStorage": "1Gi", "objects": {"secrets": 5000}}, "limits": limits_within()}
        for i in range(2)],
        nodePools=[{"name": "shared", "slot": 4}]))
    assert "Over 100%" in "\n".join(pools.etcd_lines(many))
