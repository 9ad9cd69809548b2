"""Tenants with several namespaces (issue 26), judged by network-config-analyzer (nca) on the
RENDERED NetworkPolicies with sample pods in every namespace, and by the render's own isolation
checks (``tenancy check``).

The expected map is written here by hand: a tenant's namespaces reach each other (one tenant),
``allowFrom`` edges join every namespace of both tenants in the declared direction, and nothing
else crosses. Negative controls remove the intra-tenant policy and narrow an edge back to the
main namespaces: nca must see the difference.
"""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.render import render_spec
from tenancy.review.check import run_checks
from tenancy.review.facts import facts_of
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.nca import Connectivity, Nca, SampleCluster

pytestmark = pytest.mark.slow

SPEC = spec_with(
    [tenant("alpha", 0, namespaces=["alpha-batch"], allowFrom=["beta"], serviceAccounts=["app"],
            quota={"cpu": "8", "memory": "16Gi", "pods": 41}),
     tenant("beta", 1, namespaces=["beta-web", "beta-jobs"], quota={"cpu": "6", "memory": "12Gi"}),
     tenant("gamma", 2)],
    workloads={"ingressControllerNamespace": "ingress-nginx"},
)
NAMESPACES = {"alpha": ["alpha", "alpha-batch"], "beta": ["beta", "beta-web", "beta-jobs"],
              "gamma": ["gamma"]}  # written out by hand from SPEC
OWNER = {ns: t for t, nss in NAMESPACES.items() for ns in nss}
ALLOW_FROM = {"alpha": {"beta"}}
DNS = "{protocols:TCP, UDP,dst_ports:53}"
PODS = [f"{ns}/web" for ns in OWNER]


@pytest.fixture(scope="module")
def result() -> Any:
    return render_spec(SPEC)


@pytest.fixture(scope="module")
def rendered(result: Any) -> list[dict[str, Any]]:
    return [m for objs in result.manifests.values() for m in objs if m["kind"] == "NetworkPolicy"]


@pytest.fixture(scope="module")
def nca(tmp_path_factory: pytest.TempPathFactory) -> Nca:
    layout: dict[str, list[tuple[str, dict[str, str]]]] = {ns: [("web", {"app": "web"})] for ns in OWNER}
    layout["kube-system"] = [("coredns", {"k8s-app": "kube-dns"})]
    layout["ingress-nginx"] = [("controller", {"app": "ingress-nginx"})]
    layout["default"] = [("stray", {"app": "stray"})]
    return Nca(tmp_path_factory.mktemp("nca"), SampleCluster.build(layout, tenants=list(OWNER)))


def _expected(src_ns: str, dst_ns: str) -> str | None:
    s, d = OWNER[src_ns], OWNER[dst_ns]
    return "All connections" if s == d or s in ALLOW_FROM.get(d, ()) else None


def _check_map(conn: Connectivity) -> list[tuple[str, str, str | None]]:
    wrong = []
    for src in PODS:
        for dst in PODS:
            if src != dst:
                want = _expected(src.split("/")[0], dst.split("/")[0])
                if conn.get(src, dst) != want:
                    wrong.append((src, dst, conn.get(src, dst)))
    return wrong


def test_every_namespace_has_the_tenants_walls(rendered: list[dict[str, Any]]) -> None:
    by_ns: dict[str, set[str]] = {}
    for m in rendered:
        by_ns.setdefault(m["metadata"]["namespace"], set()).add(m["metadata"]["name"])
    for ns in OWNER:
        assert {"tenancy-default-deny", "tenancy-allow-dns", "tenancy-allow-same-namespace"} <= by_ns[ns], ns
    assert "tenancy-allow-tenant-namespaces" in by_ns["alpha-batch"]
    assert "tenancy-allow-tenant-namespaces" not in by_ns["gamma"]  # a one-namespace tenant is unchanged


def test_connectivity_map_is_exactly_the_declared_one(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    conn = nca.connectivity(nca.policies(rendered, "rendered"))
    assert _check_map(conn) == []
    for src in PODS:
        assert conn.get(src, "kube-system/coredns") == DNS, src
        assert conn.get(src, "default/stray") is None and conn.get("default/stray", src) is None, src
        assert conn.get("ingress-nginx/controller", src) == "All connections", src
    # the positive cases the map relies on, spelled out
    assert conn.get("alpha/web", "alpha-batch/web") == "All connections"
    assert conn.get("beta-jobs/web", "alpha-batch/web") == "All connections"
    assert conn.get("alpha-batch/web", "beta-web/web") is None
    assert conn.get("gamma/web", "alpha-batch/web") is None


def test_negative_control_without_the_intra_tenant_policy(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    broken = [m for m in rendered if m["metadata"]["name"] != "tenancy-allow-tenant-namespaces"]
    conn = nca.connectivity(nca.policies(broken, "no-intra"))
    wrong = _check_map(conn)
    assert ("alpha/web", "alpha-batch/web", None) in wrong
    assert ("beta-web/web", "beta-jobs/web", None) in wrong


def test_negative_control_edge_on_the_main_namespaces_only(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    """An edge built as before extra namespaces (main namespace to main namespace)."""
    broken = [m for m in rendered
              if not (m["metadata"]["name"] in ("tenancy-allow-from-beta", "tenancy-allow-to-alpha")
                      and m["metadata"]["namespace"] not in ("alpha", "beta"))]
    main_only = {"matchLabels": {"kubernetes.io/metadata.name": "beta"}}
    broken = [{**m, "spec": {**m["spec"], "ingress": [{"from": [{"namespaceSelector": main_only}]}]}}
              if m["metadata"]["name"] == "tenancy-allow-from-beta" else m for m in broken]
    conn = nca.connectivity(nca.policies(broken, "main-only"))
    wrong = _check_map(conn)
    assert ("beta-web/web", "alpha-batch/web", None) in wrong


def test_facts_map_every_namespace_to_its_tenant(result: Any) -> None:
    f = facts_of(result.resources)
    assert f.tenant_namespaces("beta")[0] == "beta"
    assert sorted(f.tenant_namespaces("beta")) == sorted(NAMESPACES["beta"])
    for ns, t in OWNER.items():
        assert f.namespace_tenant(ns) == t
    assert f.open("beta", "alpha") and not f.open("alpha", "beta") and not f.open("gamma", "alpha")
    # the placement policy is enforced in every namespace of every tenant
    assert all(f.enforced.get(t) for t in NAMESPACES)


def test_multi_namespace_tenants_pass_every_isolation_check(result: Any) -> None:
    results = run_checks(result.resources)
    bad = [(r.id, [x.document() for x in v]) for r, level, v in results if v and level == "mandatory"]
    assert not bad, bad


def test_quota_shares_add_up_to_the_tenant_quota(result: Any) -> None:
    """The capacity checks count ``quota`` once per tenant: the namespaces' ResourceQuotas must
    never add up to more."""
    quotas = [m for objs in result.manifests.values() for m in objs
              if m["kind"] == "ResourceQuota" and m["metadata"]["name"] == "tenancy-quota"]
    pods: dict[str, int] = {}
    for q in quotas:
        t = OWNER[q["metadata"]["namespace"]]
        pods[t] = pods.get(t, 0) + int(q["spec"]["hard"]["pods"])
    assert pods == {"alpha": 41, "beta": 50, "gamma": 50}
    alpha = {q["metadata"]["namespace"]: q["spec"]["hard"] for q in quotas
             if OWNER[q["metadata"]["namespace"]] == "alpha"}
    assert alpha["alpha"]["pods"] == "21" and alpha["alpha-batch"]["pods"] == "20"
    assert alpha["alpha"]["requests.cpu"] == "4" and alpha["alpha-batch"]["limits.memory"] == "8Gi"


def test_the_render_report_shows_each_namespace_and_its_share(result: Any) -> None:
    from tenancy.render.writer import report

    text = report(result)
    assert "- `alpha`: `alpha` (4, 8Gi, 21), `alpha-batch` (4, 8Gi, 20)" in text
    assert "`beta`: `beta` (2, 4Gi, 17), `beta-web` (2, 4Gi, 17), `beta-jobs` (2, 4Gi, 16)" in text
