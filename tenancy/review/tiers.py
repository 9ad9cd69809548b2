"""Tiered network policy semantics: ``ClusterNetworkPolicy`` (Admin, Baseline) around NetworkPolicies.

The judge of :mod:`tenancy.plan.cluster_policies`, written from the specification, not from the
renderer: the evaluation order of sig-network-policy-api (AdminNetworkPolicy / the v1alpha2
ClusterNetworkPolicy, https://network-policy-api.sigs.k8s.io/ "API overview", "Tiers") as EKS
implements it (EKS user guide cni-network-policy-configure.html; the CRD in tests/fixtures/crds):

1. **Admin** tier: the policies whose ``subject`` selects the pod (the destination for ingress, the
   source for egress), lowest ``priority`` first; within a policy, rules in order; the first rule
   whose peers and ports match decides: ``Accept`` allows and ``Deny`` drops (no later tier is
   consulted), ``Pass`` skips the rest of the Admin tier.
2. **NetworkPolicy** layer: if some NetworkPolicy of that direction selects the pod, their union
   decides (:mod:`tenancy.review.netpol`), and nothing after it.
3. **Baseline** tier: as the Admin tier (``Accept``/``Deny``; a Baseline ``Pass`` is no decision).
4. Default: allowed (``unselected`` overrides it, e.g. nothing under the VPC CNI's strict mode).

A connection needs the source's egress AND the destination's ingress. Peers: ``namespaces`` (a
label selector on the namespace), ``pods`` (``namespaceSelector`` AND ``podSelector``), ``networks``
(CIDRs, egress only); ``ports``: ``portNumber``, ``portRange`` (inclusive), ``namedPort`` (the
destination's; unknown: any port); no ``ports``: every port.

Pods with unknown labels (``pod_labels=None``, "some pod of the namespace", as the isolation facts
ask): a subject's ``pods`` selector selects it only when its ``podSelector`` is empty; a rule's
``pods`` peer matches it surely only when empty (what a ``Deny`` needs) and possibly otherwise (what
an ``Accept`` or ``Pass`` needs) — an over-approximation of what is allowed, the reviewer's safe
side (a ``Pass`` that may match, ahead of an ``Accept`` that would, is read as the Pass).

Pure: no Pulumi, no cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tenancy.review import netpol
from tenancy.review.netpol import ANY, EGRESS, INGRESS, Endpoint, Port

ADMIN, BASELINE = "Admin", "Baseline"
ACCEPT, DENY, PASS = "Accept", "Deny", "Pass"
PROTOCOLS = ("tcp", "udp", "sctp")


def _pods_match(sel: Mapping[str, Any], ep: Endpoint, certain: bool = True) -> bool:
    """``pods`` (``namespaceSelector`` AND ``podSelector``) against ``ep``. Labels unknown: with
    ``certain`` only an empty podSelector matches (every pod does), else any may."""
    if not netpol.selector_matches(sel.get("namespaceSelector"), ep.ns_labels or {}):
        return False
    pod_sel = sel.get("podSelector")
    if ep.pod_labels is None:
        return netpol.selects_everything(pod_sel) or not certain
    return netpol.selector_matches(pod_sel, ep.pod_labels)


def subject_selects(policy: Mapping[str, Any], pod: Endpoint) -> bool:
    """Does the policy's ``spec.subject`` select ``pod``?"""
    if pod.namespace is None:
        return False
    subject = policy["spec"].get("subject") or {}
    if "namespaces" in subject:
        return netpol.selector_matches(subject["namespaces"], pod.ns_labels or {})
    if "pods" in subject:
        return _pods_match(subject["pods"], pod)
    return False


def peer_matches(peer: Mapping[str, Any], ep: Endpoint, certain: bool = True) -> bool:
    """Does one ``from``/``to`` peer take in ``ep``? (``certain``: see :func:`_pods_match`.)"""
    if "networks" in peer:
        return any(netpol.block_admits(str(c), (), ep.networks) for c in peer["networks"])
    if ep.namespace is None:
        return False
    if "namespaces" in peer:
        return netpol.selector_matches(peer["namespaces"], ep.ns_labels or {})
    if "pods" in peer:
        return _pods_match(peer["pods"], ep, certain)
    return False  # domainNames and unknown peers: never an in-cluster or address endpoint here


def rule_ports(rule: Mapping[str, Any], named_ports: Mapping[str, int] | None) -> list[Port]:
    """The ports a rule matches."""
    ports = rule.get("ports")
    if not ports:
        return list(ANY)
    out: list[Port] = []
    for p in ports:
        if "portNumber" in p:
            n = p["portNumber"]
            out.append((str(n.get("protocol") or "TCP").lower(), int(n["port"]), int(n["port"])))
        elif "portRange" in p:
            r = p["portRange"]
            out.append((str(r.get("protocol") or "TCP").lower(), int(r["start"]), int(r["end"])))
        elif "namedPort" in p:
            if named_ports is None:
                out.append(("any", 0, 65535))
            elif p["namedPort"] in named_ports:
                port = named_ports[p["namedPort"]]
                out.append(("any", port, port))
    return out


class Index:
    """Cluster policies with the ones selecting each endpoint remembered, so that judging many pairs
    costs one pass over the policies per distinct endpoint, not per pair."""

    def __init__(self, policies: Iterable[Mapping[str, Any]]) -> None:
        self.policies = list(policies)
        self._memo: dict[Any, list[Mapping[str, Any]]] = {}
        self._by_id: dict[int, tuple[Endpoint, list[Mapping[str, Any]]]] = {}
        self._ports: dict[int, tuple[Mapping[str, Any], list[Port]]] = {}
        self._segments: dict[int, tuple[Endpoint, list[tuple[int, int]]]] = {}

    def ports_of(self, policy: Mapping[str, Any], named: Mapping[str, int] | None) -> list[Port]:
        """Every port bound of ``policy``'s rules (remembered unless named ports are resolved)."""
        if named is not None:
            return [q for key in ("ingress", "egress") for r in policy["spec"].get(key) or []
                    for q in rule_ports(r, named)]
        got = self._ports.get(id(policy))
        if got is None or got[0] is not policy:
            got = (policy, [q for key in ("ingress", "egress") for r in policy["spec"].get(key) or []
                            for q in rule_ports(r, None)])
            self._ports[id(policy)] = got
        return got[1]

    def segments_of(self, pod: Endpoint, named: Mapping[str, int] | None) -> list[tuple[int, int]]:
        """The port intervals the rules of the policies selecting ``pod`` cut 0–65535 into (the
        verdict of one tier is constant inside each); remembered per endpoint unless named ports
        are resolved."""
        if named is not None:
            return _segments([q for p in self.selecting(pod) for q in self.ports_of(p, named)])
        known = self._segments.get(id(pod))
        if known is None or known[0] is not pod:
            known = (pod, _segments([q for p in self.selecting(pod) for q in self.ports_of(p, None)]))
            self._segments[id(pod)] = known
        return known[1]

    def selecting(self, pod: Endpoint) -> list[Mapping[str, Any]]:
        """The policies whose subject selects ``pod``, lowest priority number first."""
        known = self._by_id.get(id(pod))
        if known is not None and known[0] is pod:
            return known[1]
        key = (pod.namespace, tuple(sorted((pod.ns_labels or {}).items())),
               None if pod.pod_labels is None else tuple(sorted(pod.pod_labels.items())))
        if key not in self._memo:
            self._memo[key] = sorted((p for p in self.policies if subject_selects(p, pod)),
                                     key=lambda p: int(p["spec"].get("priority", 0)))
        self._by_id[id(pod)] = (pod, self._memo[key])
        return self._memo[key]


Policies = Sequence[Mapping[str, Any]] | Index


def index(policies: Policies) -> Index:
    return policies if isinstance(policies, Index) else Index(policies)


def matching_rules(policies: Policies, tier: str, pod: Endpoint, direction: str,
                   other: Endpoint) -> list[tuple[str, list[Port]]]:
    """(action, ports) of the rules of ``tier`` whose peers take in ``other``, in evaluation order:
    the first whose ports hold a connection's decides it."""
    key, peers_key = ("ingress", "from") if direction == INGRESS else ("egress", "to")
    named = pod.named_ports if direction == INGRESS else other.named_ports
    out = []
    for policy in index(policies).selecting(pod):
        if policy["spec"].get("tier") != tier:
            continue
        for rule in policy["spec"].get(key) or []:
            certain = rule.get("action") == DENY  # see tier_action
            if any(peer_matches(peer, other, certain) for peer in rule.get(peers_key) or []):
                out.append((str(rule["action"]), rule_ports(rule, named)))
    return out


def _first(rules: Sequence[tuple[str, list[Port]]], protocol: str, port: int) -> str | None:
    return next((action for action, ports in rules if netpol.port_in(ports, protocol, port)), None)


def tier_action(policies: Policies, tier: str, pod: Endpoint, direction: str, other: Endpoint,
                protocol: str, port: int) -> str | None:
    """The first matching rule's action in ``tier`` for ``pod`` (subject) and ``other`` (peer), or None."""
    key, peers_key = ("ingress", "from") if direction == INGRESS else ("egress", "to")
    named = pod.named_ports if direction == INGRESS else other.named_ports
    ordered = [p for p in index(policies).selecting(pod) if p["spec"].get("tier") == tier]
    for policy in ordered:
        for rule in policy["spec"].get(key) or []:
            # some pod (labels unknown): a Deny counts only where it surely matches, an Accept or Pass
            # wherever it may — the over-approximation of what is allowed (module docstring)
            certain = rule.get("action") == DENY
            if any(peer_matches(peer, other, certain) for peer in rule.get(peers_key) or []) and \
                    netpol.port_in(rule_ports(rule, named), protocol, port):
                return str(rule["action"])
    return None


def _judge(cluster_policies: Policies, network_policies: Sequence[Mapping[str, Any]], pod: Endpoint,
           direction: str, other: Endpoint, unselected: Sequence[Port] = ANY) -> Any:
    """``side`` for one pod, direction and peer, with the NetworkPolicy layer computed once: a
    function of (protocol, port) -> (allowed, deciding layer)."""
    applying = [p for p in network_policies if netpol.applies(p, direction)]
    may = any(netpol.may_select(p, pod) for p in applying)
    must = any(netpol.must_select(p, pod) for p in applying)
    np_ports = netpol.allowed(applying, pod, direction, other, unselected=()) if may else []
    admin = matching_rules(cluster_policies, ADMIN, pod, direction, other)
    baseline = matching_rules(cluster_policies, BASELINE, pod, direction, other)

    def judge(protocol: str, port: int) -> tuple[bool, str]:
        action = _first(admin, protocol, port)
        if action in (ACCEPT, DENY):
            return action == ACCEPT, ADMIN
        if may:
            by_np = netpol.port_in(np_ports, protocol, port)
            if by_np or must:
                return by_np, "NetworkPolicy"
            # labels unknown and only label-selecting policies: some pods are selected (denied above),
            # others fall through to the Baseline tier (the union: an over-approximation)
        action = _first(baseline, protocol, port)
        if action in (ACCEPT, DENY):
            return action == ACCEPT, BASELINE
        return netpol.port_in(unselected, protocol, port), "default"

    return judge


def side(cluster_policies: Policies, network_policies: Sequence[Mapping[str, Any]],
         pod: Endpoint, direction: str, other: Endpoint, protocol: str, port: int,
         unselected: Sequence[Port] = ANY) -> tuple[bool, str]:
    """Whether ``pod`` may send to (egress) / accept from (ingress) ``other`` on ``protocol``/``port``,
    and which layer decided (``Admin``, ``NetworkPolicy``, ``Baseline``, ``default``).
    ``network_policies``: those of ``pod``'s namespace."""
    return _judge(index(cluster_policies), network_policies, pod, direction, other, unselected)(protocol, port)  # type: ignore[no-any-return]


def verdict(cluster_policies: Policies, network_policies: Mapping[str, Sequence[Mapping[str, Any]]],
            src: Endpoint, dst: Endpoint, protocol: str, port: int, unselected: Sequence[Port] = ANY) -> bool:
    """Can ``src`` open a connection to ``dst`` on ``protocol``/``port``? ``network_policies``:
    namespace -> its NetworkPolicies. An endpoint outside the cluster enforces nothing."""
    ok_out = src.namespace is None or side(cluster_policies, network_policies.get(src.namespace, ()), src, EGRESS,
                                           dst, protocol, port, unselected)[0]
    ok_in = dst.namespace is None or side(cluster_policies, network_policies.get(dst.namespace, ()), dst, INGRESS,
                                          src, protocol, port, unselected)[0]
    return ok_out and ok_in


def _boundaries(ports: Iterable[Port]) -> list[int]:
    cuts = {0}
    for _, lo, hi in ports:
        cuts.add(lo)
        if hi < 65535:
            cuts.add(hi + 1)
    return sorted(cuts)


def _all_ports(cluster_policies: Index, network_policies: Mapping[str, Sequence[Mapping[str, Any]]],
               src: Endpoint, dst: Endpoint) -> list[Port]:
    out: list[Port] = []
    for p in [*cluster_policies.selecting(src), *cluster_policies.selecting(dst)]:
        out += cluster_policies.ports_of(p, dst.named_ports)
    for ns in (src.namespace, dst.namespace):
        for np in network_policies.get(ns or "", ()):
            for key in ("ingress", "egress"):
                for rule in (np.get("spec") or {}).get(key) or []:
                    if rule.get("ports"):
                        out += netpol.rule_ports(rule, dst.named_ports)
    return out


def _segments(ports: Iterable[Port]) -> list[tuple[int, int]]:
    cuts = _boundaries(ports)
    return [(lo, cuts[i + 1] - 1 if i + 1 < len(cuts) else 65535) for i, lo in enumerate(cuts)]


def _add(out: list[Port], proto: str, lo: int, hi: int) -> None:
    if out and out[-1][0] == proto and out[-1][2] == lo - 1:
        out[-1] = (proto, out[-1][1], hi)
    else:
        out.append((proto, lo, hi))


def connection(cluster_policies: Policies,
               network_policies: Mapping[str, Sequence[Mapping[str, Any]]], src: Endpoint, dst: Endpoint,
               unselected: Sequence[Port] = ANY) -> list[Port]:
    """Every protocol/port ``src`` can open to ``dst``: exact, by evaluating one port of each interval
    the policies' port bounds cut 0–65535 into (the verdict is constant inside one)."""
    cluster_policies = index(cluster_policies)
    segments = _segments([*_all_ports(cluster_policies, network_policies, src, dst), *unselected])
    out_side = (None if src.namespace is None else
                _judge(cluster_policies, network_policies.get(src.namespace, ()), src, EGRESS, dst, unselected))
    in_side = (None if dst.namespace is None else
               _judge(cluster_policies, network_policies.get(dst.namespace, ()), dst, INGRESS, src, unselected))
    out: list[Port] = []
    for proto in PROTOCOLS:
        for lo, hi in segments:
            if (out_side is None or out_side(proto, lo)[0]) and (in_side is None or in_side(proto, lo)[0]):
                _add(out, proto, lo, hi)
    return _any(out)


def _any(ports: list[Port]) -> list[Port]:
    """The same ranges for every protocol are written once, as ``any`` (as :mod:`netpol` does)."""
    per = [[(lo, hi) for p, lo, hi in ports if p == proto] for proto in PROTOCOLS]
    if per[0] and all(r == per[0] for r in per):
        return [("any", lo, hi) for lo, hi in per[0]]
    return ports


def admin_admits(cluster_policies: Policies, pod: Endpoint, direction: str, other: Endpoint) -> list[Port]:
    """The ports on which the Admin tier does not deny ``pod``'s ``direction`` with ``other`` (Accept,
    Pass or no matching rule): one side of the cluster-wide wall, on its own."""
    cluster_policies = index(cluster_policies)
    named = pod.named_ports if direction == INGRESS else other.named_ports
    segments = cluster_policies.segments_of(pod, named)
    rules = matching_rules(cluster_policies, ADMIN, pod, direction, other)
    out: list[Port] = []
    for proto in PROTOCOLS:
        for lo, hi in segments:
            if _first(rules, proto, lo) != DENY:
                _add(out, proto, lo, hi)
    return _any(out)
