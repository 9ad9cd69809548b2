"""``drift.policy-endpoints`` offline: one policy against PolicyEndpoints written by hand as the
network policy controller writes them (aws/amazon-network-policy-controller-k8s v1.1.7,
``pkg/resolvers/endpoints.go``, ``pkg/policyendpoints/manager.go``): CIDR entries with the rule's
ports, entries of one CIDR merged with their ports united, named ports, allow-all rules, chunks
over several PolicyEndpoints, pod addresses. The real API server: tests/live/test_policy_endpoints_live.py."""

from __future__ import annotations

from typing import Any

from tenancy.verify.endpoints import compare

POLICY: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "t"},
    "spec": {"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Ingress", "Egress"],
             "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.5.0/24"]}},
                                   {"podSelector": {"matchLabels": {"role": "client"}}}],
                          "ports": [{"protocol": "TCP", "port": 8443}]},
                         {"from": [{"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.5.0/24"]}}],
                          "ports": [{"protocol": "UDP", "port": 9000, "endPort": 9100}]}],
             "egress": [{"ports": [{"protocol": "TCP", "port": 443}]},  # no peers: anywhere on 443
                        {"to": [{"ipBlock": {"cidr": "52.0.0.0/16"}}],
                         "ports": [{"protocol": "TCP", "port": "https"}]}]},  # named: skipped for CIDRs
}


def _pe(name: str, ingress: list[dict[str, Any]] | None = None, egress: list[dict[str, Any]] | None = None,
        **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"podSelector": {"matchLabels": {"app": "x"}}, "policyRef": {"name": "p", "namespace": "t"},
                         "podIsolation": ["Ingress", "Egress"], **spec}
    if ingress:
        s["ingress"] = ingress
    if egress:
        s["egress"] = egress
    return {"apiVersion": "networking.k8s.aws/v1alpha1", "kind": "PolicyEndpoint",
            "metadata": {"name": name, "namespace": "t"}, "spec": s}


# What the controller writes: the ipBlock of both ingress rules merged (TCP 8443 and UDP 9000-9100),
# a running client pod's address, the egress rule without peers as both allow-all entries, and the
# named-port ipBlock left out; spread over two chunks.
PROGRAMMED = [
    _pe("p-abcde", ingress=[{"cidr": "10.0.0.0/16", "except": ["10.0.5.0/24"],
                             "ports": [{"protocol": "TCP", "port": 8443},
                                       {"protocol": "UDP", "port": 9000, "endPort": 9100}]},
                            {"cidr": "10.0.7.12", "ports": [{"protocol": "TCP", "port": 8443}]}]),
    _pe("p-fghij", egress=[{"cidr": "0.0.0.0/0", "ports": [{"protocol": "TCP", "port": 443}]},
                           {"cidr": "::/0", "ports": [{"protocol": "TCP", "port": 443}]}]),
]


def test_the_controllers_derivation_matches() -> None:
    assert compare(POLICY, PROGRAMMED) == []


def test_each_difference_is_named() -> None:
    import copy

    assert compare(POLICY, []) == ["no PolicyEndpoint: the network policy agent enforces nothing of this policy"]
    # a port lost from the merged entry (stricter) and an extra CIDR (looser)
    pes = copy.deepcopy(PROGRAMMED)
    pes[0]["spec"]["ingress"][0]["ports"].pop()
    pes[1]["spec"]["egress"].append({"cidr": "52.0.0.0/16"})
    problems = compare(POLICY, pes)
    assert any(p.startswith("ingress 10.0.0.0/16: programmed 10.0.0.0/16 except 10.0.5.0/24 (TCP/8443)") for p in
               problems), problems
    assert "egress 52.0.0.0/16 (all ports) programmed, not in the policy" in problems
    # the allow-all entries gone
    pes = copy.deepcopy(PROGRAMMED)
    del pes[1]
    assert "egress 0.0.0.0/0 (TCP/443) not programmed" in compare(POLICY, pes)
    # isolation and selector copied wrong
    pes = copy.deepcopy(PROGRAMMED)
    pes[1]["spec"]["podIsolation"] = ["Ingress"]
    pes[0]["spec"]["podSelector"] = {}
    problems = compare(POLICY, pes)
    assert any("podIsolation ['Ingress']" in p for p in problems) and any("podSelector {}" in p for p in problems)


def test_pod_addresses_are_stale_where_the_policy_selects_no_pods() -> None:
    import copy

    pes = copy.deepcopy(PROGRAMMED)
    pes[1]["spec"]["egress"].append({"cidr": "10.0.9.9", "ports": [{"protocol": "TCP", "port": 443}]})
    assert compare(POLICY, pes) == ["egress 10.0.9.9 (TCP/443) programmed, not in the policy"]


def test_an_ingress_rule_with_a_named_port_takes_its_ports_from_the_pods() -> None:
    policy = {"spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                       "ingress": [{"from": [{"ipBlock": {"cidr": "10.1.0.0/16"}}],
                                    "ports": [{"protocol": "TCP", "port": "web"}]}]}}
    base = {"podSelector": {}, "podIsolation": ["Ingress"]}
    for entries in ([], [{"cidr": "10.1.0.0/16", "ports": [{"protocol": "TCP", "port": 8080}]}]):
        assert compare(policy, [{"metadata": {"name": "x"}, "spec": {**base, "ingress": entries}}]) == []
