"""Per-tenant stacks (tenancy.plan.tenant_stacks): the split covers exactly the monolithic
program's in-cluster objects, each in its own tenant's stack, and fingerprints change only for
the stacks a spec change touches."""

from __future__ import annotations

from collections import Counter

import pytest

from tenancy.plan import cluster_policies
from tenancy.plan import kubernetes as k8s_plan
from tenancy.plan import tenant_stacks as ts
from tenancy.plan.validate import load_platform
from tenancy.spec import naming
from tenancy.spec.wire import TENANT_LABEL
from tests.fixtures.specs import spec_with, tenant


def _spec(tenants: list[dict]) -> object:
    return load_platform(spec_with(tenants))


A = tenant("a", 0, allowFrom=["b"], serviceAccounts=["app"])
B = tenant("b", 1, namespaces=["b-batch"], quota={"cpu": "8", "memory": "16Gi", "pods": 40})
C = tenant("c", 2, allowFrom=[{"tenant": "a", "ports": [{"port": 8080}]}, "b"])


def _key(m: dict) -> tuple[str, str, str]:
    return m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"]


def test_split_is_the_monolith_grouped_by_namespace() -> None:
    spec = _spec([A, B, C])
    monolith = []
    for t in spec.tenants:
        monolith += k8s_plan.tenant_manifests(t, spec.workloads, spec.vpc_cidr, None, (),
                                              spec.identity.mode != "irsa", spec.service_cidr, (),
                                              spec.kubernetes_service_ip)
        for peer in t.peers:
            edge = t.edge(peer)
            monolith += k8s_plan.edge_manifests(t.name, peer, spec.workloads.mesh, edge.ports if edge else None,
                                                naming.tenant_namespaces(t),
                                                naming.tenant_namespaces(spec.tenant(peer)))
        if cluster_policies.enabled(spec):  # the tenant's Admin-tier walls (cluster-scoped)
            monolith += [cluster_policies.tenant_policy(t, spec.workloads, spec.vpc_cidr,
                                                        pod_identity_agent=spec.identity.mode != "irsa",
                                                        service_cidr=spec.service_cidr,
                                                        kubernetes_service_ip=spec.kubernetes_service_ip),
                         *cluster_policies.tenant_edge_policies(t)]
    split = []
    for t in spec.tenants:
        objs = ts.tenant_objects(spec, t)
        # Every object of a tenant's stack is its namespace or in it.
        # Every object of a tenant's stack is its namespace or in it, or a cluster-scoped wall of its own.
        assert all(m["metadata"].get("namespace", m["metadata"]["name"]) in naming.tenant_namespaces(t)
                   or (m["kind"] == "ClusterNetworkPolicy" and m["metadata"]["labels"][TENANT_LABEL] == t.name)
                   for m in objs), t.name
        split += objs
    assert Counter(map(_key, split)) == Counter(map(_key, monolith))
    assert sorted(map(repr, split)) == sorted(map(repr, monolith))  # same content, not only names
    # b's namespace gets the egress halves of both edges declaring it.
    names = {m["metadata"]["name"] for m in ts.tenant_objects(spec, spec.tenants[1])}
    assert {"tenancy-allow-to-a", "tenancy-allow-to-c"} <= names
    # ... in each of its namespaces (b has two: ``namespaces``)
    b_batch = [m for m in ts.tenant_objects(spec, spec.tenants[1]) if m["metadata"].get("namespace") == "b-batch"]
    assert {"tenancy-allow-to-a", "tenancy-allow-to-c"} <= {m["metadata"]["name"] for m in b_batch}


def test_fingerprints_change_only_where_objects_change() -> None:
    base = ts.fingerprints(_spec([A, B, C]))
    assert set(base) == {"platform", "tenant-a", "tenant-b", "tenant-c"}
    # Onboarding a tenant without edges: only its stack is new.
    grown = ts.fingerprints(_spec([A, B, C, tenant("d", 3)]))
    assert {s for s in grown if grown[s] != base.get(s)} == {"tenant-d"}
    # A quota change: that tenant only.
    changed = ts.fingerprints(_spec([{**A, "quota": {"pods": 7}}, B, C]))
    assert {s for s in changed if changed[s] != base[s]} == {"tenant-a"}
    # A new edge d <- b: d's stack and b's (the egress half lands in b's namespace).
    edged = ts.fingerprints(_spec([A, B, C, tenant("d", 3, allowFrom=["b"])]))
    assert {s for s in edged if edged[s] != base.get(s)} == {"tenant-d", "tenant-b"}


def test_plan_stacks_runs_changed_and_destroys_removed() -> None:
    spec = _spec([A, B, C])
    deployed = ts.fingerprints(spec)
    nothing = ts.plan_stacks(spec, deployed)
    assert (nothing.platform, nothing.up, nothing.destroy) == (False, {}, [])
    assert nothing.unchanged == ["tenant-a", "tenant-b", "tenant-c"]
    # Removing c: its stack is destroyed, a's and b's change (the egress halves towards c go).
    smaller = _spec([A, B])
    todo = ts.plan_stacks(smaller, deployed)
    assert todo.destroy == ["tenant-c"] and set(todo.up) == {"tenant-a", "tenant-b"} and not todo.platform
    # Negative control: an empty ledger runs everything, force too.
    assert ts.plan_stacks(spec, {}).platform and len(ts.plan_stacks(spec, {}).up) == 3
    assert len(ts.plan_stacks(spec, deployed, force=True).up) == 3


def test_fingerprints_are_linear_in_tenants() -> None:
    import time

    from tests.fixtures.specs import many_tenants

    def seconds(n: int) -> float:
        spec = load_platform(many_tenants(n))
        started = time.perf_counter()
        ts.fingerprints(spec)
        return time.perf_counter() - started

    seconds(20)  # warm-up
    small, big = min(seconds(20) for _ in range(3)), min(seconds(160) for _ in range(3))
    assert big < 20 * small, (small, big)  # 8x the tenants: linear is ~8x, quadratic ~64x


def test_unknown_tenant_stack_is_refused() -> None:
    pytest.importorskip("pulumi_kubernetes")
    from tenancy.components.tenant_stacks import tenant_layer

    with pytest.raises(ValueError, match=r"tenancy:tenant 'aa' is not a tenant .* did you mean 'a'\?"):
        tenant_layer(_spec([A, B, C]), "aa", None)  # type: ignore[arg-type]


def test_grouped_stacks_are_bounded_and_stable() -> None:
    from tests.fixtures.specs import many_tenants

    spec = load_platform(many_tenants(25))
    groups = ts.stacks_of(spec, 10)
    assert list(groups) == ["tenants-0000", "tenants-0010", "tenants-0020"]
    assert [len(v) for v in groups.values()] == [10, 10, 5]
    # Onboarding t025 (edge to t024, same stack): only that stack's fingerprint changes.
    before, after = ts.fingerprints(spec, 10), ts.fingerprints(load_platform(many_tenants(26)), 10)
    assert {s for s in after if after[s] != before.get(s)} == {"tenants-0020"}
    # Every tenant in exactly one stack; 1 per stack is the per-tenant layout.
    assert sorted(sum(groups.values(), [])) == sorted(t.name for t in spec.tenants)
    assert set(ts.stacks_of(spec, 1)) == {f"tenant-t{i:03d}" for i in range(25)}
    with pytest.raises(ValueError, match="at least 1"):
        ts.stack_of(spec.tenants[0], 0)
