"""``TenantSpec.namespaces`` (issue 26): names checked platform-wide with the field's path and the
fix, and the quota split across a tenant's namespaces (never more than the tenant's quota)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy import SpecError, load_platform
from tenancy.spec import TenantSpec, naming
from tenancy.spec.models import quantity_value, split_count, split_quantity
from tests.fixtures.specs import spec_with, tenant


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecError) as exc:
        load_platform(data)
    return {p.path: p.message for p in exc.value.problems}


def test_a_valid_multi_namespace_tenant_loads() -> None:
    spec = load_platform(spec_with([tenant("alpha", 0, namespaces=["alpha-batch", "web"],
                                           quota={"cpu": "6", "memory": "12Gi"}), tenant("beta", 1)]))
    assert naming.tenant_namespaces(spec.tenant("alpha")) == ["alpha", "alpha-batch", "web"]
    assert naming.tenant_namespaces(spec.tenant("beta")) == ["beta"]


@pytest.mark.parametrize(("namespaces", "others", "extra", "path", "words"), [
    (["beta"], [], {}, "tenants[0].namespaces[0]", "is the name (main namespace) of tenants[1]"),
    (["shared"], [["shared"]], {}, "tenants[1].namespaces[0]", "already a namespace of tenants[0]"),
    (["old"], [], {"retiredTenants": [{"name": "old", "slot": 9}]}, "tenants[0].namespaces[0]", "retired"),
    (["ops"], [], {"workloads": {"platformNamespaces": ["ops"]}}, "tenants[0].namespaces[0]", "platformNamespaces"),
    (["ingress"], [], {"workloads": {"ingressControllerNamespace": "ingress"}}, "tenants[0].namespaces[0]",
     "ingress controller"),
])
def test_namespaces_are_unique_across_the_platform(namespaces: list[str], others: list[list[str]],
                                                   extra: dict[str, Any], path: str, words: str) -> None:
    beta = tenant("beta", 1, **({"namespaces": others[0]} if others else {}))
    problems = _problems(spec_with([tenant("alpha", 0, namespaces=namespaces), beta], **extra))
    assert path in problems, problems
    assert words in problems[path] and "choose another name" in problems[path], problems[path]


@pytest.mark.parametrize(("namespaces", "words"), [
    (["alpha"], "is the tenant's name"),
    (["a", "a"], "repeats namespaces[0]"),
    (["default"], "is reserved"),
    (["kube-stuff"], "reserved for system namespaces"),
    (["Not_DNS"], ""),
])
def test_bad_namespace_names_are_refused_with_the_field(namespaces: list[str], words: str) -> None:
    problems = _problems(spec_with([tenant("alpha", 0, namespaces=namespaces)]))
    assert any(p.startswith("tenants[0]") and words in m for p, m in problems.items()), problems


def test_a_split_below_the_largest_container_is_refused_with_the_fix() -> None:
    problems = _problems(spec_with([tenant("alpha", 0, namespaces=["b", "c"])]))  # 4 CPU / 3 < 2
    msg = " ".join(problems.values())
    assert "quota.cpu 4 split across the tenant's 3 namespaces leaves 1333m per namespace" in msg
    assert "raise quota.cpu to at least 6" in msg and "raise quota.memory to at least 12Gi" in msg


def test_a_split_leaving_a_namespace_no_pod_is_refused() -> None:
    problems = _problems(spec_with([tenant("alpha", 0, namespaces=["b"], quota={"pods": 1})]))
    assert any("quota.pods 1 split across the tenant's 2 namespaces" in m for m in problems.values()), problems


def test_namespace_quota_shares() -> None:
    t = TenantSpec(name="a", slot=0, namespaces=["b"], quota={"cpu": "5", "memory": "9Gi", "pods": 7})
    shares = [t.namespace_quota(i) for i in range(2)]
    assert [s.cpu for s in shares] == ["2500m", "2500m"]
    assert [s.pods for s in shares] == [4, 3]
    assert [s.memory for s in shares] == ["4608Mi", "4608Mi"]
    one = TenantSpec(name="a", slot=0)
    assert one.namespace_quota(0) == one.quota  # a one-namespace tenant is unchanged


@given(st.integers(1, 10**7), st.sampled_from(["m", "", "Mi", "Gi", "k"]), st.integers(1, 9))
def test_split_quantity_never_exceeds_the_whole(n: int, suffix: str, parts: int) -> None:
    whole = f"{n}{suffix}"
    unit = Decimal("0.001") if suffix in ("m", "") else Decimal(1)
    shares = split_quantity(whole, parts, unit)
    total = sum(quantity_value(s) for s in shares)
    assert total <= quantity_value(whole)
    assert quantity_value(whole) - total < unit * parts  # only the rounding is lost
    assert max(map(quantity_value, shares)) - min(map(quantity_value, shares)) <= unit


@given(st.integers(0, 10**6), st.integers(1, 9))
def test_split_count_adds_up(total: int, parts: int) -> None:
    shares = split_count(total, parts)
    assert sum(shares) == total and max(shares) - min(shares) <= 1
