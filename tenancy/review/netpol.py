"""Kubernetes NetworkPolicy semantics (``networking.k8s.io/v1``): the one evaluator of the product.

Both questions the review asks of NetworkPolicies use these primitives:

* the isolation facts (:mod:`tenancy.review.facts`): "can SOME pod of namespace A open a
  connection to SOME pod of B, and on which ports?" — per namespace, pod labels unknown;
* the operability checks (:mod:`tenancy.review.operability_cluster`): "can THIS sample pod
  reach THAT endpoint on this protocol and port?" — per endpoint, labels known.

The difference between the two is only what is known about a pod: an :class:`Endpoint` with
``pod_labels=None`` stands for "some pod of the namespace, labels unknown", and every answer
about it is the over-approximation (a ``podSelector`` MAY select it or match it; it is isolated
only by a policy with the empty ``podSelector``, which MUST select it).

Semantics (Kubernetes API reference, ``k8s.io/api/networking/v1/types.go``; concept page
https://kubernetes.io/docs/concepts/services-networking/network-policies/):

* a LabelSelector's requirements are ANDed; ``{}`` matches everything; a null selector nothing
  (``k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go``, LabelSelectorAsSelector);
* ``spec.podSelector`` is a non-pointer field: absent means ``{}``, every pod of the namespace;
* ``spec.policyTypes`` defaults to ``["Ingress"]`` plus ``"Egress"`` when the policy has egress
  rules (:func:`policy_types`);
* a pod is isolated for a direction once some policy of that type selects it; what it may then
  send/accept is the union of the rules of those policies; a connection needs the source's
  egress AND the destination's ingress;
* a rule with no peers matches every peer; with no ports every port; a peer is an ``ipBlock``
  (``cidr`` minus ``except``), or a ``namespaceSelector`` and/or ``podSelector`` (both: pods
  matching the podSelector in namespaces matching the namespaceSelector; a podSelector alone:
  the policy's own namespace);
* a port is ``protocol`` (default TCP) and ``port`` (absent: every port; a name: the port the
  destination pod's container names so) up to ``endPort``.

Pure: no Pulumi, no cluster.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Port = tuple[str, int, int]
"""(protocol lower-case or ``any``, from, to)."""
ANY: tuple[Port, ...] = (("any", 0, 65535),)

INGRESS = "Ingress"
EGRESS = "Egress"

INTERNET_PROBES = ("1.1.1.1", "8.8.8.8", "9.9.9.9", "208.67.222.222")
"""Public addresses standing for "the internet": an ipBlock admitting any of them opens it."""


# --------------------------------------------------------------------------------------------
# Label selectors


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A Kubernetes LabelSelector against a label set (``None`` matches nothing; ``{}`` all)."""
    if selector is None:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), list(e.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selects_everything(selector: Mapping[str, Any] | None) -> bool:
    """A selector without requirements (``{}``): it matches every label set. ``None`` does not
    (a null selector matches nothing)."""
    return selector is not None and not selector.get("matchLabels") and not selector.get("matchExpressions")


def pod_selector(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """A NetworkPolicy's ``spec.podSelector``: absent (the Go field is a non-pointer
    ``metav1.LabelSelector``) is ``{}``, every pod of the namespace."""
    return spec.get("podSelector") or {}


# --------------------------------------------------------------------------------------------
# Policy types and selection


def policy_types(spec: Mapping[str, Any]) -> list[str]:
    """``spec.policyTypes``, defaulted as the API server does. k8s.io/api/networking/v1/types.go,
    NetworkPolicySpec.PolicyTypes: "If this field is not specified, it will default based on the
    existence of ingress or egress rules; policies that contain an egress section are assumed to
    affect egress, and all policies (whether or not they contain an ingress section) are assumed
    to affect ingress." (Same text on the NetworkPolicy concept page, "policyTypes".)"""
    types = spec.get("policyTypes")
    if types:
        return [str(t) for t in types]
    return [INGRESS, EGRESS] if spec.get("egress") else [INGRESS]


def _direction(direction: str) -> str:
    d = direction.capitalize()
    if d not in (INGRESS, EGRESS):
        raise ValueError(f"direction {direction!r}: ingress or egress")
    return d


def _spec(policy: Mapping[str, Any]) -> Mapping[str, Any]:
    """A policy's spec: accepts a whole manifest or its ``spec``."""
    return (policy.get("spec") or {}) if "spec" in policy or "metadata" in policy else policy


def applies(policy: Mapping[str, Any], direction: str) -> bool:
    """Does the policy (manifest or spec) affect ``direction`` (``ingress``/``egress``)?"""
    return _direction(direction) in policy_types(_spec(policy))


@dataclass(frozen=True)
class Endpoint:
    """One end of a connection, as NetworkPolicy peers see it.

    A pod: ``namespace`` and its labels ``ns_labels`` (include ``kubernetes.io/metadata.name``),
    ``pod_labels`` (``None``: some pod of the namespace, labels unknown — selectors MAY match it),
    ``named_ports`` (its containers' named ports; ``None``: unknown, a named port may be any).
    Outside the cluster: ``namespace=None``. ``networks``: the addresses it may hold (CIDR
    strings; a pod's too, when its subnets are known), matched by ``ipBlock`` peers."""

    namespace: str | None = None
    ns_labels: Mapping[str, str] | None = None
    pod_labels: Mapping[str, str] | None = None
    networks: tuple[str, ...] = ()
    named_ports: Mapping[str, int] | None = None

    @staticmethod
    def address(ip: str) -> Endpoint:
        """A single address outside the cluster."""
        return Endpoint(networks=(str(ipaddress.ip_network(ip, strict=False)),))


def may_select(policy: Mapping[str, Any], pod: Endpoint) -> bool:
    """Can the policy select the pod (any pod, when its labels are unknown)? The policy must be
    of the pod's namespace (the caller passes that namespace's policies)."""
    sel = pod_selector(_spec(policy))
    return True if pod.pod_labels is None else selector_matches(sel, pod.pod_labels)


def must_select(policy: Mapping[str, Any], pod: Endpoint) -> bool:
    """Does the policy select the pod (every pod of the namespace, when its labels are unknown)?"""
    sel = pod_selector(_spec(policy))
    return selects_everything(sel) if pod.pod_labels is None else selector_matches(sel, pod.pod_labels)


# --------------------------------------------------------------------------------------------
# Peers


@functools.lru_cache(maxsize=65536)
def block_admits(cidr: str, excepts: tuple[str, ...], networks: tuple[str, ...]) -> bool:
    """Does the ipBlock ``cidr`` minus ``excepts`` hold some address of ``networks``?

    Exact for CIDRs (which nest or are disjoint): the common part of a network and the block is
    the smaller of the two; it is admitted unless an ``except`` holds it or the ``except``s
    inside it cover it. A malformed or IPv6 block admits nothing here (every address we model is
    IPv4). Cached on strings: a platform has few distinct blocks and address sets, and every
    pair of tenants asks again."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
        nets = [ipaddress.ip_network(e, strict=False) for e in excepts]
    except ValueError:
        return False
    if not isinstance(net, ipaddress.IPv4Network):
        return False
    out = [e for e in nets if isinstance(e, ipaddress.IPv4Network)]
    for n in networks:
        c = ipaddress.IPv4Network(n, strict=False)
        if not c.overlaps(net):
            continue
        common = c if c.subnet_of(net) else net
        if any(common.subnet_of(e) for e in out):
            continue
        inside = [e for e in out if e.subnet_of(common)]
        if not inside or list(ipaddress.collapse_addresses(inside)) != [common]:
            return True
    return False


def peer_matches(peer: Mapping[str, Any], policy_ns: str, ep: Endpoint) -> bool:
    """Does a rule's peer (``from``/``to`` entry) of a policy in ``policy_ns`` take in ``ep``?"""
    if peer.get("ipBlock") is not None:
        block = peer["ipBlock"]
        return block_admits(str(block.get("cidr")), tuple(str(e) for e in block.get("except") or []), ep.networks)
    if ep.namespace is None:
        return False
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_sel is None and pod_sel is None:
        return False  # not a valid peer: it names nothing
    ns_ok = selector_matches(ns_sel, ep.ns_labels or {}) if ns_sel is not None else ep.namespace == policy_ns
    if pod_sel is None or ep.pod_labels is None:
        return ns_ok
    return ns_ok and selector_matches(pod_sel, ep.pod_labels)


def rule_peers_match(rule: Mapping[str, Any], direction: str, policy_ns: str, ep: Endpoint) -> bool:
    """A rule's peers (``from`` for ingress, ``to`` for egress) take in ``ep`` (none: everyone)."""
    peers = rule.get("from" if _direction(direction) == INGRESS else "to")
    return not peers or any(peer_matches(p, policy_ns, ep) for p in peers)


# --------------------------------------------------------------------------------------------
# Ports


def rule_ports(rule: Mapping[str, Any], named_ports: Mapping[str, int] | None = None) -> list[Port]:
    """The ports a rule admits. A named port resolves through ``named_ports`` (the destination
    pod's); unknown (``None``) it may be any port."""
    ports = rule.get("ports") or []
    if not ports:
        return list(ANY)
    out: list[Port] = []
    for p in ports:
        proto = str(p.get("protocol") or "TCP").lower()
        port = p.get("port")
        if port is None:
            out.append((proto, 0, 65535))
            continue
        if isinstance(port, str) and not port.isdigit():
            if named_ports is None:
                out.append((proto, 0, 65535))  # a named port, number unknown
            elif port in named_ports:
                out.append((proto, named_ports[port], named_ports[port]))
            continue
        lo = int(port)
        out.append((proto, lo, int(p.get("endPort") or lo)))
    return out


def port_in(ports: Iterable[Port], protocol: str, port: int) -> bool:
    """Is ``protocol``/``port`` within one of ``ports``?"""
    proto = protocol.lower()
    return any((p == "any" or p == proto) and lo <= port <= hi for p, lo, hi in ports)


def intersect(a: Sequence[Port], b: Sequence[Port]) -> list[Port]:
    """The ports in both ``a`` and ``b``."""
    out = []
    for pa, la, ha in a:
        for pb, lb, hb in b:
            if pa != "any" and pb != "any" and pa != pb:
                continue
            lo, hi = max(la, lb), min(ha, hb)
            if lo <= hi:
                out.append((pa if pa != "any" else pb, lo, hi))
    return sorted(set(out))


def covers(old: Sequence[Port], new: Sequence[Port]) -> bool:
    """Every port of ``new`` is within the port ranges of ``old`` (of its protocol, or ``any``),
    adjacent or overlapping ranges taken together (``tcp/1-100`` and ``tcp/101-200`` cover
    ``tcp/50-150``)."""
    for pn, ln, hn in new:
        reach = ln  # the first port of new not yet covered
        for lo, ho in sorted((lo, ho) for po, lo, ho in old if po in ("any", pn)):
            if lo > reach:
                break
            reach = max(reach, ho + 1)
        if reach <= hn:
            return False
    return True


# --------------------------------------------------------------------------------------------
# A direction of a connection


def allowed(policies: Sequence[Mapping[str, Any]], pod: Endpoint, direction: str, other: Endpoint,
            *, unselected: Sequence[Port] = ANY) -> list[Port]:
    """The ports on which ``pod`` may send to (``egress``) / accept from (``ingress``) ``other``
    under ``policies`` (its namespace's). ``unselected``: what a pod no policy of that direction
    selects may do — ``ANY`` in Kubernetes; nothing under the VPC CNI's strict mode.

    For the destination's named ports, ingress resolves them on ``pod``, egress on ``other``."""
    assert pod.namespace is not None
    d = _direction(direction)
    key = "ingress" if d == INGRESS else "egress"
    applying = [p for p in policies if d in policy_types(_spec(p))]
    named = pod.named_ports if d == INGRESS else other.named_ports
    out: list[Port] = []
    for p in applying:
        if not may_select(p, pod):
            continue
        for rule in _spec(p).get(key) or []:
            if rule_peers_match(rule, d, pod.namespace, other):
                out += rule_ports(rule, named)
    if not any(must_select(p, pod) for p in applying):
        # (some pod of) the namespace is not isolated in this direction
        if covers(unselected, out):
            return sorted(set(unselected))
        out += list(unselected)
    return sorted(set(out))


def connection(src_policies: Sequence[Mapping[str, Any]], src: Endpoint, dst_policies: Sequence[Mapping[str, Any]],
               dst: Endpoint, *, unselected: Sequence[Port] = ANY) -> list[Port]:
    """The ports ``src`` can open connections to ``dst`` on: the source's egress AND the
    destination's ingress (an endpoint outside the cluster has no policies: ``ANY``)."""
    out = list(ANY) if src.namespace is None else allowed(src_policies, src, "egress", dst, unselected=unselected)
    inn = list(ANY) if dst.namespace is None else allowed(dst_policies, dst, "ingress", src, unselected=unselected)
    return intersect(out, inn)
