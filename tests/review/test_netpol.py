"""The NetworkPolicy primitives (tenancy/review/netpol.py) shared by the isolation facts and the
operability checks: selectors, policyTypes defaulting, selection per direction, peers, ports."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.review import netpol
from tenancy.review.netpol import ANY, Endpoint
from tenancy.review.operability_cluster import Endpoint as OpEndpoint
from tenancy.review.operability_cluster import Policies

NAME = "kubernetes.io/metadata.name"


def _np(ns: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": ns}, "spec": {"podSelector": {}, **spec}}


def _pod(ns: str, **labels: str) -> Endpoint:
    return Endpoint(ns, {NAME: ns, "team": ns}, labels, ("10.1.0.0/24",), {})


def test_selector_matching() -> None:
    m = netpol.selector_matches
    assert m({}, {}) and m({}, {"a": "1"})
    assert not m(None, {"a": "1"})
    assert m({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}) and not m({"matchLabels": {"a": "1"}}, {"a": "2"})
    expr = lambda op, *v: {"matchExpressions": [{"key": "a", "operator": op, "values": list(v)}]}  # noqa: E731
    assert m(expr("In", "1", "2"), {"a": "2"}) and not m(expr("In", "1"), {}) and not m(expr("In", "1"), {"a": "3"})
    assert m(expr("NotIn", "1"), {}) and m(expr("NotIn", "1"), {"a": "2"}) and not m(expr("NotIn", "1"), {"a": "1"})
    assert m(expr("Exists"), {"a": ""}) and not m(expr("Exists"), {"b": "1"})
    assert m(expr("DoesNotExist"), {"b": "1"}) and not m(expr("DoesNotExist"), {"a": "1"})
    both = {"matchLabels": {"b": "2"}, **expr("In", "1")}
    assert m(both, {"a": "1", "b": "2"}) and not m(both, {"a": "1"})  # requirements are ANDed
    assert netpol.selects_everything({}) and netpol.selects_everything({"matchLabels": {}})
    assert not netpol.selects_everything(None) and not netpol.selects_everything(expr("Exists"))


def test_policy_types_default_follows_the_api() -> None:
    assert netpol.policy_types({}) == ["Ingress"]
    assert netpol.policy_types({"ingress": [{}]}) == ["Ingress"]
    assert netpol.policy_types({"egress": [{}]}) == ["Ingress", "Egress"]
    assert netpol.policy_types({"egress": [{}], "policyTypes": ["Egress"]}) == ["Egress"]
    assert netpol.applies(_np("a", egress=[{}]), "egress") and netpol.applies(_np("a", egress=[{}]), "ingress")
    assert not netpol.applies(_np("a", ingress=[{}]), "egress")


def test_egress_rules_without_policy_types_isolate_egress() -> None:
    """A policy with egress rules and no policyTypes isolates egress (the old operability
    evaluator defaulted policyTypes to ["Ingress"] and so ignored such a policy's egress)."""
    pol = _np("a", egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.5/32"}}], "ports": [{"port": 443}]}])
    pod = _pod("a", app="web")
    # standard semantics: only the rule's destination is open
    assert netpol.allowed([pol], pod, "egress", Endpoint.address("10.0.0.5")) == [("tcp", 443, 443)]
    assert netpol.allowed([pol], pod, "egress", Endpoint.address("10.0.0.6")) == []
    assert netpol.allowed([], pod, "egress", Endpoint.address("10.0.0.6")) == list(ANY)
    # the operability checks (strict mode): the policy selects the pod for egress, so its rule opens the flow
    pols = Policies([pol])
    src = OpEndpoint("a", {"app": "web"}, {NAME: "a"})
    assert pols.connects(src, OpEndpoint(ip="10.0.0.5"), "TCP", 443)
    assert not pols.connects(src, OpEndpoint(ip="10.0.0.5"), "TCP", 80)
    assert not pols.connects(src, OpEndpoint(ip="10.0.0.6"), "TCP", 443)


def test_selection_known_and_unknown_labels() -> None:
    some = _np("a", podSelector={"matchLabels": {"app": "db"}}, policyTypes=["Ingress"])
    every = _np("a", policyTypes=["Ingress"])
    web, db, anyone = _pod("a", app="web"), _pod("a", app="db"), Endpoint("a", {NAME: "a"})
    assert netpol.may_select(some, db) and not netpol.may_select(some, web)
    assert netpol.may_select(some, anyone) and not netpol.must_select(some, anyone)  # some pods, not all
    assert netpol.must_select(every, anyone) and netpol.must_select(every, web)
    other = _pod("b")
    # a policy selecting some pods leaves the others open (labels unknown: some pod of a is open)
    assert netpol.allowed([some], web, "ingress", other) == list(ANY)
    assert netpol.allowed([some], db, "ingress", other) == []
    assert netpol.allowed([some], anyone, "ingress", other) == list(ANY)
    assert netpol.allowed([every], anyone, "ingress", other) == []
    # strict mode: an unselected pod is denied
    assert netpol.allowed([some], web, "ingress", other, unselected=()) == []


@pytest.mark.parametrize(("peer", "ep", "expected"), [
    ({"podSelector": {}}, _pod("a"), True),                                    # own namespace
    ({"podSelector": {}}, _pod("b"), False),
    ({"podSelector": {"matchLabels": {"app": "db"}}}, _pod("a", app="web"), False),
    ({"podSelector": {"matchLabels": {"app": "db"}}}, Endpoint("a", {NAME: "a"}), True),  # some pod may match
    ({"namespaceSelector": {}}, _pod("b"), True),
    ({"namespaceSelector": {"matchLabels": {"team": "b"}}}, _pod("b"), True),
    ({"namespaceSelector": {"matchLabels": {"team": "b"}}}, _pod("c"), False),
    ({"namespaceSelector": {"matchLabels": {"team": "b"}}, "podSelector": {"matchLabels": {"app": "x"}}},
     _pod("b", app="x"), True),                                                # both: ANDed
    ({"namespaceSelector": {"matchLabels": {"team": "b"}}, "podSelector": {"matchLabels": {"app": "x"}}},
     _pod("b", app="y"), False),
    ({"namespaceSelector": {"matchLabels": {"team": "b"}}, "podSelector": {"matchLabels": {"app": "x"}}},
     _pod("a", app="x"), False),
    ({}, _pod("a"), False),                                                    # names nothing
    ({"namespaceSelector": {}}, Endpoint.address("10.1.0.1"), False),         # selectors: pods only
    ({"ipBlock": {"cidr": "10.1.0.0/16"}}, Endpoint.address("10.1.0.1"), True),
    ({"ipBlock": {"cidr": "10.1.0.0/16", "except": ["10.1.0.0/24"]}}, Endpoint.address("10.1.0.1"), False),
    ({"ipBlock": {"cidr": "10.1.0.0/16", "except": ["10.1.0.0/24"]}}, Endpoint.address("10.1.1.1"), True),
    ({"ipBlock": {"cidr": "0.0.0.0/0"}}, _pod("a"), True),                     # a pod's addresses
    ({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}, _pod("a"), False),
    ({"ipBlock": {"cidr": "::/0"}}, Endpoint.address("10.1.0.1"), False),      # IPv6 block: no IPv4 address
])
def test_peers(peer: dict[str, Any], ep: Endpoint, expected: bool) -> None:
    assert netpol.peer_matches(peer, "a", ep) is expected


def test_ip_block_is_exact_on_networks() -> None:
    """Some address of the network in the block and not in its excepts."""
    admits = netpol.block_admits
    assert admits("10.0.0.0/16", (), ("10.0.5.0/24",))
    assert admits("10.0.1.0/24", (), ("10.0.0.0/16",))                         # the block within the network
    assert not admits("10.0.1.0/24", ("10.0.1.0/24",), ("10.0.0.0/16",))       # ... all excepted
    assert not admits("10.0.1.0/24", ("10.0.1.0/25", "10.0.1.128/25"), ("10.0.0.0/16",))  # covered by parts
    assert admits("10.0.1.0/24", ("10.0.1.0/25",), ("10.0.0.0/16",))
    assert not admits("10.0.0.0/16", (), ("10.1.0.0/24",))
    assert not admits("not-a-cidr", (), ("10.1.0.0/24",))


def test_ports() -> None:
    assert netpol.rule_ports({}) == list(ANY)
    assert netpol.rule_ports({"ports": [{"port": 53, "protocol": "UDP"}]}) == [("udp", 53, 53)]
    assert netpol.rule_ports({"ports": [{"port": 1000, "endPort": 2000}]}) == [("tcp", 1000, 2000)]
    assert netpol.rule_ports({"ports": [{"protocol": "SCTP"}]}) == [("sctp", 0, 65535)]
    named = {"ports": [{"port": "http"}]}
    assert netpol.rule_ports(named) == [("tcp", 0, 65535)]                     # unknown: any number
    assert netpol.rule_ports(named, {"http": 8080}) == [("tcp", 8080, 8080)]
    assert netpol.rule_ports(named, {}) == []                                  # the pod names no such port
    ports = netpol.rule_ports({"ports": [{"port": 1000, "endPort": 2000}, {"port": 53, "protocol": "UDP"}]})
    assert netpol.port_in(ports, "TCP", 1500) and netpol.port_in(ports, "tcp", 2000)
    assert not netpol.port_in(ports, "TCP", 2001) and not netpol.port_in(ports, "TCP", 53)
    assert netpol.port_in(ports, "UDP", 53) and netpol.port_in(ANY, "SCTP", 9)
    assert netpol.intersect(list(ANY), [("tcp", 1, 5)]) == [("tcp", 1, 5)]
    assert netpol.intersect([("udp", 1, 5)], [("tcp", 1, 5)]) == []
    assert netpol.covers([("tcp", 0, 100)], [("tcp", 5, 6)]) and not netpol.covers([("tcp", 0, 100)], [("udp", 5, 6)])


def test_named_port_resolves_on_the_destination() -> None:
    ing = _np("a", ingress=[{"ports": [{"port": "http"}]}], policyTypes=["Ingress"])
    dst = Endpoint("a", {NAME: "a"}, {"app": "web"}, (), {"http": 8080})
    assert netpol.allowed([ing], dst, "ingress", _pod("b")) == [("tcp", 8080, 8080)]
    eg = _np("b", egress=[{"ports": [{"port": "http"}]}])
    assert netpol.allowed([eg], _pod("b"), "egress", dst) == [("tcp", 8080, 8080)]


def test_connection_needs_both_ends() -> None:
    src_pol = [_np("a", egress=[{"to": [{"namespaceSelector": {}}], "ports": [{"port": 80}, {"port": 443}]}])]
    dst_pol = [_np("b", ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}],
                                  "ports": [{"port": 443}, {"port": 8443}]}])]
    assert netpol.connection(src_pol, _pod("a"), dst_pol, _pod("b")) == [("tcp", 443, 443)]
    assert netpol.connection(src_pol, _pod("c"), dst_pol, _pod("b")) == []     # c is not admitted by b
    assert netpol.connection([], Endpoint.address("1.1.1.1"), dst_pol, _pod("b")) == []
    assert netpol.connection(src_pol, _pod("a"), [], Endpoint.address("1.1.1.1")) == []  # egress: namespaces only
