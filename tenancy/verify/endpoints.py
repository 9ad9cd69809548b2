"""What the VPC CNI's network policy agent was told to enforce: PolicyEndpoints against the policies.

On EKS, NetworkPolicies are enforced by the VPC CNI's network policy agent (eBPF on each node), which
does not read NetworkPolicies: the network policy controller (aws/amazon-network-policy-controller-k8s,
run by EKS) resolves each one into ``PolicyEndpoint`` objects (CRD ``policyendpoints.networking.k8s.aws``,
``api/v1alpha1/policyendpoint_types.go``) in the policy's namespace, and the agent programs those.
When they go stale (controller bugs, a failed reconcile, an endpoint left behind), what the
cluster enforces is not what the NetworkPolicy says, and reading the NetworkPolicy cannot show it.

How the controller derives them (``pkg/resolvers/endpoints.go`` ``computeIngressEndpoints``,
``computeEgressEndpoints``, ``convertToPolicyInfoPortForCIDRs``; ``pkg/policyendpoints/manager.go``
``newPolicyEndpoint``, ``combineRulesEndpoints``, ``getCombineKey``; v1.1.7):

- one or more PolicyEndpoints per policy (chunks of rules), each with ``spec.policyRef`` {name,
  namespace} of the policy, ``spec.podSelector`` = the policy's, ``spec.podIsolation`` = its
  ``policyTypes``;
- a rule without peers allows all: entries ``0.0.0.0/0`` and ``::/0``; an ``ipBlock`` peer becomes
  an entry with its ``cidr`` and ``except``; pod/namespace selector peers become the matching pods'
  IPs (and, for egress, Services' cluster IPs) — addresses without a prefix length;
- each entry carries the rule's ports (protocol, port, endPort); named ports are left out for CIDR
  peers, and a rule whose ports all are named is skipped; entries of the same CIDR+except are merged,
  their ports united (no ports on either = all ports).

:func:`check` compares, for every live NetworkPolicy verify knows (the rendered ones and extras in
tenant namespaces), the union of its PolicyEndpoints with that derivation for everything the
policy itself determines: selector, isolation, every CIDR entry and its ports. Pod and Service
addresses depend on the pods running, which verify does not read: they are not judged where the
policy has selector peers in that direction, and are stale where it has none. A missing
PolicyEndpoint, a different selector or isolation, a CIDR entry missing or with other ports, a CIDR
entry the policy does not hold, or a PolicyEndpoint in a tenant namespace whose policy is gone
**fails** ``drift.policy-endpoints``: enforcement differs from the policy in either direction (looser
lets traffic through; stricter breaks the tenant), and either is a broken platform. Without the CRD
the check is skipped, naming why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tenancy.spec.wire import CNP_API_VERSION as POLICY_ENDPOINT_API_VERSION  # one API group: networking.k8s.aws
from tenancy.spec.wire import POLICY_ENDPOINT_CRD, POLICY_ENDPOINT_KIND
from tenancy.verify.kube import KubeReader, Live
from tenancy.verify.report import Result, failed, passed, skipped

CHECK = "drift.policy-endpoints"
CRD: tuple[str, str, str] = ("apiextensions.k8s.io/v1", "CustomResourceDefinition", POLICY_ENDPOINT_CRD)
"""Read by name: whether the cluster has PolicyEndpoints at all."""
POLICY_ENDPOINTS: tuple[str, str] = (POLICY_ENDPOINT_API_VERSION, POLICY_ENDPOINT_KIND)
"""Listed in every namespace at once."""
ALL = "all"
"""Ports of an entry that allows every port."""
ALLOW_ALL = ("0.0.0.0/0", "::/0")

Key = tuple[str, tuple[str, ...]]
Ports = frozenset[tuple[str, int | None, int | None]] | str


def _port(p: Mapping[str, Any]) -> tuple[str, int | None, int | None] | None:
    """A NetworkPolicyPort as the controller writes it for CIDR peers; None for a named port."""
    port = p.get("port")
    if isinstance(port, str) and not port.isdigit():
        return None
    end = p.get("endPort")
    return (str(p.get("protocol") or "TCP"), int(port) if port is not None else None,
            int(end) if end is not None else None)


def _merge(table: dict[Key, Ports], key: Key, ports: Ports) -> None:
    have = table.get(key)
    if have is None:
        table[key] = ports
    elif isinstance(have, str) or isinstance(ports, str):
        table[key] = ALL
    else:
        table[key] = have | ports


def expected(policy: Mapping[str, Any]) -> dict[str, tuple[dict[Key, Ports], bool, set[Key]]]:
    """direction ("ingress"/"egress") → (CIDR entries the controller derives; whether the direction
    has selector peers, whose pods' addresses it adds too; CIDR entries whose ports depend on the
    pods: an ingress rule with a named port takes its ports from the selected pods)."""
    spec = policy.get("spec") or {}
    out: dict[str, tuple[dict[Key, Ports], bool, set[Key]]] = {}
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        table: dict[Key, Ports] = {}
        selectors = False
        pod_ports: set[Key] = set()
        for rule in spec.get(direction) or []:
            given = rule.get("ports") or []
            converted = [c for c in (_port(p) for p in given) if c is not None]
            peers = rule.get(peers_key) or []
            keys = [(str(p["ipBlock"]["cidr"]), tuple(sorted(str(e) for e in p["ipBlock"].get("except") or [])))
                    for p in peers if p.get("ipBlock")] or ([(c, ()) for c in ALLOW_ALL] if not peers else [])
            selectors = selectors or any(not p.get("ipBlock") for p in peers)
            if direction == "ingress" and len(converted) < len(given):
                pod_ports.update(keys)  # named ports: resolved from the policy's pods
                continue
            if given and not converted:
                continue  # egress, every port named: the CIDR peers are skipped
            ports: Ports = frozenset(converted) if converted else ALL
            for key in keys:
                _merge(table, key, ports)
        out[direction] = (table, selectors, pod_ports)
    return out


def programmed(endpoints: Iterable[Mapping[str, Any]]) -> dict[str, dict[Key, Ports]]:
    """direction → entries across all of a policy's PolicyEndpoints (merged as the controller merges)."""
    out: dict[str, dict[Key, Ports]] = {"ingress": {}, "egress": {}}
    for pe in endpoints:
        for direction in out:
            for e in (pe.get("spec") or {}).get(direction) or []:
                ports = [_port(p) for p in e.get("ports") or []]
                key = (str(e.get("cidr") or e.get("domainName") or ""),
                       tuple(sorted(str(x) for x in e.get("except") or [])))
                _merge(out[direction], key, frozenset(p for p in ports if p) if ports else ALL)
    return out


def _fmt(key: Key, ports: Ports) -> str:
    cidr, exc = key
    text = cidr + (f" except {', '.join(exc)}" if exc else "")
    if isinstance(ports, str):
        return f"{text} (all ports)"
    shown = sorted(f"{p}{'' if n is None else f'/{n}'}{'' if e is None else f'-{e}'}" for p, n, e in ports)
    return f"{text} ({', '.join(shown)})"


def _is_address(cidr: str) -> bool:
    """A pod's or Service's address (the controller writes them without a prefix length)."""
    return "/" not in cidr


def compare(policy: Mapping[str, Any], endpoints: Sequence[Mapping[str, Any]]) -> list[str]:
    """What differs between one live NetworkPolicy and its PolicyEndpoints (empty: they match)."""
    if not endpoints:
        return ["no PolicyEndpoint: the network policy agent enforces nothing of this policy"]
    spec = policy.get("spec") or {}
    problems = []
    for pe in endpoints:
        name, s = (pe.get("metadata") or {}).get("name"), pe.get("spec") or {}
        if (s.get("podSelector") or {}) != (spec.get("podSelector") or {}):
            problems.append(f"PolicyEndpoint {name}: podSelector {s.get('podSelector')!r}, the policy's "
                            f"{spec.get('podSelector')!r}")
        if sorted(s.get("podIsolation") or []) != sorted(spec.get("policyTypes") or []):
            problems.append(f"PolicyEndpoint {name}: podIsolation {s.get('podIsolation') or []}, the policy's "
                            f"policyTypes {spec.get('policyTypes') or []}")
    want, have = expected(policy), programmed(endpoints)
    for direction in ("ingress", "egress"):
        table, selectors, pod_ports = want[direction]
        live = have[direction]
        for key, ports in sorted(table.items(), key=str):
            if key in pod_ports:
                continue
            if key not in live:
                problems.append(f"{direction} {_fmt(key, ports)} not programmed")
            elif live[key] != ports:
                problems.append(f"{direction} {key[0]}: programmed {_fmt(key, live[key])}, the policy "
                                f"{_fmt(key, ports)}")
        for key, ports in sorted(live.items(), key=str):
            if key in table or key in pod_ports or (_is_address(key[0]) and selectors):
                continue
            problems.append(f"{direction} {_fmt(key, ports)} programmed, not in the policy")
    return problems


def _policies(live: Live) -> list[tuple[str | None, dict[str, Any]]]:
    """(tenant, live NetworkPolicy) for the rendered policies found and the extras in tenant namespaces."""
    out = [(r.get("tenant"), obj) for r, m, obj in live.objects
           if obj is not None and m.get("kind") == "NetworkPolicy"]
    out += [(t, obj) for t, obj, _ in live.extras if obj.get("kind") == "NetworkPolicy"]
    return out


def check(reader: KubeReader, live: Live, tenant_namespaces: Mapping[str, str]) -> list[Result]:
    """``drift.policy-endpoints`` (module docstring). ``tenant_namespaces``: namespace → tenant."""
    if reader.get(*CRD) is None:
        return [skipped(CHECK, None, "PolicyEndpoints",
                        f"the cluster has no {POLICY_ENDPOINT_CRD} CRD: the VPC CNI's network policy controller is "
                        "not installed (EKS installs it with the VPC CNI's network policy support), or another "
                        "agent enforces NetworkPolicies; what it enforces is not read")]
    by_policy: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for pe in reader.list(*POLICY_ENDPOINTS):
        ref = (pe.get("spec") or {}).get("policyRef") or {}
        ns = str(ref.get("namespace") or (pe.get("metadata") or {}).get("namespace"))
        by_policy.setdefault((ns, str(ref.get("name"))), []).append(pe)
    out: list[Result] = []
    seen: set[tuple[str, str]] = set()
    for tenant, policy in _policies(live):
        meta = policy.get("metadata") or {}
        key = (str(meta.get("namespace")), str(meta.get("name")))
        seen.add(key)
        pes = sorted(by_policy.get(key, []), key=lambda p: str((p.get("metadata") or {}).get("name")))
        what = f"NetworkPolicy {key[0]}/{key[1]}"
        problems = compare(policy, pes)
        if problems:
            out.append(failed(CHECK, tenant, what, "; ".join(problems[:6]) +
                              (f" (+{len(problems) - 6} more)" if len(problems) > 6 else "")))
        else:
            names = ", ".join(str((p.get("metadata") or {}).get("name")) for p in pes)
            out.append(passed(CHECK, tenant, what, f"PolicyEndpoint(s) {names} hold what the policy says"))
    for (ns, name), pes in sorted(by_policy.items()):
        if (ns, name) in seen or ns not in tenant_namespaces:
            continue
        names = ", ".join(str((p.get("metadata") or {}).get("name")) for p in pes)
        out.append(failed(CHECK, tenant_namespaces[ns], f"PolicyEndpoint {ns}/{names}",
                          f"stale: its NetworkPolicy {name} is not in the cluster, yet the agent may still enforce it"))
    return out


__all__ = ["CHECK", "CRD", "POLICY_ENDPOINTS", "check", "compare", "expected", "programmed"]
