"""Isolation facts of real renders, judged against the spec's declared edges and, for
NetworkPolicies, against an independent analyser (nca)."""

from __future__ import annotations

import json
from pathlib import Path

from tenancy.render.result import manifest_of
from tenancy.review.facts import covers, facts_of, selector_matches
from tests.helpers import review
from tests.helpers.nca import Nca, SampleCluster


def _open_pairs(layer: str, res: list[dict]) -> set[tuple[str, str]]:
    f = facts_of(res)
    tenants = set(f.tenants)
    return {(a, b) for (a, b), v in f.network.items() if a in tenants and b in tenants and v.get(layer)}


def test_tenant_reachability_is_exactly_the_declared_edges() -> None:
    # with_tenant: alpha allowFrom beta, delta allowFrom gamma (tests/fixtures/specs.py)
    res = review.with_tenant()
    declared = {("beta", "alpha"), ("gamma", "delta")}
    assert _open_pairs("securityGroup", res) == declared
    assert _open_pairs("networkPolicy", res) == declared
    f = facts_of(res)
    assert f.open("beta", "alpha") and not f.open("alpha", "beta")  # one-way


def test_platform_traffic_the_walls_must_let_through() -> None:
    f = facts_of(review.base())
    for t in ("alpha", "beta", "gamma"):
        assert covers(f.network[(t, "kube-system")]["networkPolicy"], [("udp", 53, 53), ("tcp", 53, 53)])
        assert covers(f.network[("platform:control-plane", t)]["securityGroup"], [("tcp", 10250, 10250)])
        assert covers(f.network[(t, "platform:control-plane")]["securityGroup"], [("tcp", 443, 443)])
    assert f.open("gamma", "internet") and not f.open("alpha", "internet")  # gamma: internetEgress


def test_network_policy_facts_agree_with_nca(tmp_path: Path) -> None:
    res = review.with_edge()  # alpha admits beta; beta admits gamma
    f = facts_of(res)
    tenants = sorted(f.tenants)
    cluster = SampleCluster.build({**{t: [("app", {"app": "x"})] for t in tenants},
                                   "kube-system": [("dns", {"k8s-app": "kube-dns"})]})
    nca = Nca(tmp_path, cluster)
    objs = [manifest_of(r) for r in res if r["type"].startswith("kubernetes:") and r["custom"]]
    conn = nca.connectivity(nca.policies(objs))
    for a in tenants:
        for b in [*tenants, "kube-system"]:
            if a == b:
                continue
            judge = conn.get(f"{a}/app", f"{b}/{'dns' if b == 'kube-system' else 'app'}") is not None
            mine = bool(f.network[(a, b)]["networkPolicy"])
            assert mine == judge, f"{a} -> {b}: facts say {mine}, nca says {judge}"
    assert conn.get("beta/app", "alpha/app") and conn.get("gamma/app", "beta/app")  # the judge sees edges at all


def test_iam_facts_scope_each_role_to_its_prefix() -> None:
    f = facts_of(review.base())
    assert {(t, g) for (t, _, g, _) in f.s3} == {("alpha", "alpha"), ("beta", "beta")}
    assert f.trust[("alpha", "acme.alpha.app")] == ["system:serviceaccount:alpha:app"]


def test_document_shape_is_json_and_stable() -> None:
    d1 = facts_of(review.base()).document()
    d2 = facts_of(list(reversed(review.base()))).document()
    assert json.dumps(d1, sort_keys=True) == json.dumps(d2, sort_keys=True)
    assert set(d1) == {"tenants", "network", "s3", "trust", "rbac", "placement", "admission", "podSecurity",
                       "observability", "walls"}  # saved queries are on by default (issue 27)
    assert d1["placement"]["alpha"]["taints"] == ["tenancy/tenant=alpha:NO_SCHEDULE"]
    assert d1["admission"]["enforced"]["alpha"] == {"tenancy-pod-placement": ["Deny"],
                                                     "tenancy-service-exposure": ["Deny"]}
    assert d1["podSecurity"]["beta"]["enforce"] == "restricted"


def test_selectors() -> None:
    labels = {"a": "1", "b": "2"}
    assert selector_matches({}, labels) and not selector_matches(None, labels)
    assert selector_matches({"matchLabels": {"a": "1"}}, labels)
    assert not selector_matches({"matchLabels": {"a": "2"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "3"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "c", "operator": "Exists"}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "b", "operator": "NotIn", "values": ["9"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, labels)


def test_ports_cover() -> None:
    assert covers([("any", 0, 65535)], [("tcp", 443, 443)])
    assert not covers([("tcp", 443, 443)], [("tcp", 80, 80)])
    assert not covers([], [("udp", 53, 53)]) and covers([("udp", 53, 53)], [])
