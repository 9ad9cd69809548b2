"""Port-scoped ``allowFrom`` edges in the Kubernetes wall and in the review (issue 28).

payments admits checkout on TCP 443 only and batch on UDP 5353-5360 only; batch admits checkout
on every port (a bare name). network-config-analyzer (nca) judges the RENDERED NetworkPolicies
with sample pods against spec policies written here by hand; ``tenancy check`` and ``tenancy
diff`` read the same render. Each has a negative control: the edge widened back to every port.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tenancy.render import render_spec
from tenancy.review.check import run_checks
from tenancy.review.diff import Render, diff_renders
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.nca import Nca, SampleCluster

pytestmark = pytest.mark.slow

HTTPS = [{"port": 443}]
MDNS = [{"port": 5353, "endPort": 5360, "protocol": "UDP"}]


def spec(payments_from_checkout: list[dict[str, Any]] | None = HTTPS) -> dict[str, Any]:
    checkout: Any = "checkout" if payments_from_checkout is None else {"tenant": "checkout",
                                                                     "ports": payments_from_checkout}
    return spec_with([tenant("payments", 0, allowFrom=[checkout, {"tenant": "batch", "ports": MDNS}]),
                      tenant("checkout", 1), tenant("batch", 2, allowFrom=["checkout"])])


TENANTS = ["payments", "checkout", "batch"]


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return render_spec(spec()).resources


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """The NetworkPolicies as the render writes them (manifests/)."""
    return [m for objs in render_spec(spec()).manifests.values() for m in objs if m["kind"] == "NetworkPolicy"]


@pytest.fixture(scope="module")
def nca(tmp_path_factory: pytest.TempPathFactory) -> Nca:
    layout = {t: [("web", {"app": "web"})] for t in TENANTS}
    layout["kube-system"] = [("coredns", {"k8s-app": "kube-dns"})]
    return Nca(tmp_path_factory.mktemp("nca-edges"), SampleCluster.build(layout, tenants=TENANTS))


def _np(name: str, namespace: str, peer: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{
                "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": peer}}}],
                "ports": ports}]}}


MUST_PERMIT = [_np("https", "payments", "checkout", [{"protocol": "TCP", "port": 443}]),
               _np("mdns", "payments", "batch", [{"protocol": "UDP", "port": 5353, "endPort": 5360}])]
MUST_FORBID = [_np("http", "payments", "checkout", [{"protocol": "TCP", "port": 80}, {"protocol": "TCP", "port": 444},
                                                    {"protocol": "UDP", "port": 443}]),
               _np("around", "payments", "batch", [{"protocol": "UDP", "port": 5352}, {"protocol": "UDP", "port": 5361},
                                                   {"protocol": "TCP", "port": 5353}])]


def test_nca_finds_exactly_the_declared_ports_open(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    base = nca.policies(rendered, "rendered")
    assert nca.permits(nca.policies(MUST_PERMIT, "permit"), base).ok
    res = nca.forbids(nca.policies(MUST_FORBID, "forbid"), base)
    assert res.ok, res.output
    conn = nca.connectivity(base)
    assert conn.get("checkout/web", "payments/web") == "{protocols:TCP,dst_ports:443}"
    assert conn.get("batch/web", "payments/web") == "{protocols:UDP,dst_ports:5353-5360}"
    assert conn.get("checkout/web", "batch/web") == "All connections"  # a bare name: every port
    assert conn.get("payments/web", "checkout/web") is None  # one-way


def test_nca_negative_control_an_edge_widened_to_every_port(nca: Nca, rendered: list[dict[str, Any]]) -> None:
    widened = copy.deepcopy(rendered)
    for p in widened:
        if p["metadata"]["name"] in ("tenancy-allow-from-checkout", "tenancy-allow-to-payments") and \
                p["metadata"]["namespace"] in ("payments", "checkout"):
            for rule in p["spec"].get("ingress", []) + p["spec"].get("egress", []):
                rule.pop("ports", None)
    base = nca.policies(widened, "widened")
    assert not nca.forbids(nca.policies(MUST_FORBID, "forbid"), base).ok
    assert nca.connectivity(base).get("checkout/web", "payments/web") == "All connections"


def _violations(resources: list[dict[str, Any]]) -> list[Any]:
    return [v for _, _, vs in run_checks(resources) for v in vs]


def _widen(resources: list[dict[str, Any]], name: str, *kinds: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(resources)
    hit = 0
    for r in out:
        if r["name"] == name and r["type"].rsplit(":", 1)[-1] in kinds:
            r["inputs"]["ipProtocol"] = "-1"
            r["inputs"].pop("fromPort", None)
            r["inputs"].pop("toPort", None)
            hit += 1
    assert hit == len(kinds), name
    return out


def test_check_holds_and_fails_a_security_group_wider_than_the_edge(resources: list[dict[str, Any]]) -> None:
    assert _violations(resources) == []
    for kinds, owner in ((("SecurityGroupIngressRule", "SecurityGroupEgressRule"), "payments"),
                         (("SecurityGroupIngressRule",), "payments"),  # one side alone: still too wide
                         (("SecurityGroupEgressRule",), "checkout")):
        found = _violations(_widen(resources, "payments-from-checkout-tcp-443", *kinds))
        assert [(v.rule, v.tenant) for v in found] == [("sg-cross-tenant-declared", owner)], (kinds, found)
        assert "wider than the allowFrom edge's ports (tcp/443)" in found[0].message


def _diff(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> list[dict[str, Any]]:
    d = diff_renders(Render(Path("base"), "tenancy", "review", base), Render(Path("head"), "tenancy", "review", head))
    return [c for c in d["isolation"] if c["layer"] == "network"]


def test_diff_narrowing_is_tightened_and_widening_loosened(resources: list[dict[str, Any]]) -> None:
    every = render_spec(spec(None)).resources
    wider = render_spec(spec([{"port": 443}, {"port": 8443}])).resources
    cases = [(every, resources, "tightened"),   # every port -> TCP 443
             (resources, every, "loosened"),    # TCP 443 -> every port
             (resources, wider, "loosened"),    # 443 -> 443 and 8443
             (wider, resources, "tightened")]   # 443 and 8443 -> 443
    for base, head, change in cases:
        got = _diff(base, head)
        assert [(c["change"], c["tenant"], c["peer"]) for c in got] == [(change, "payments", "checkout")], got
    assert _diff(resources, render_spec(spec()).resources) == []  # the same ports: no change
    (narrowed,) = _diff(every, resources)
    assert narrowed["detail"] == "checkout → payments narrowed (SG rule + NetworkPolicy now tcp/443)"


def test_report_lists_edge_ports(tmp_path: Path) -> None:
    from tenancy.render import write_render

    out = write_render(render_spec(spec()), tmp_path / "render")
    report = (out / "report.md").read_text()
    assert "batch (UDP 5353-5360), checkout (TCP 443)" in report
    # the tenant graph labels port-scoped edges with their ports, and leaves every-port edges bare
    ids = {t: f"t{i}" for i, t in enumerate(sorted(TENANTS))}
    assert f"{ids['checkout']} -->|tcp/443| {ids['payments']}" in report
    assert f"{ids['batch']} -->|udp/5353-5360| {ids['payments']}" in report
    assert f"{ids['checkout']} --> {ids['batch']}" in report

