"""The perimeter, the people and the exposure: isolation facts beyond tenant-to-tenant walls.

A merge request that opens the Kubernetes API to the internet, widens the private API ranges,
switches the network policy agent to ``standard``, adds a cluster-admin from another account or
grants a tenant load balancers moves no wall between two tenants, and yet it loosens the platform.
These facts are what such a change moves; each has a direction (widening it is ``loosened``,
narrowing it ``tightened``), and :func:`perimeter_changes` names the exact value (the CIDR, the
principal ARN, the mode, the grant).

Read from a render's resources alone, like :mod:`tenancy.review.facts`:

* **API reach** — the public endpoint and its CIDRs (``eks:index:Cluster`` or
  ``aws:eks/cluster:Cluster`` inputs), and every source the control-plane security group admits on
  443 (CIDRs, prefix lists and security groups, named by their resource when the render has them);
* **people** — every IAM principal with an EKS access entry and what it gets: the Kubernetes groups
  of the entry (``tenancy:<tenant>:<persona>`` reads as ``<tenant>:<persona>``) and each access
  policy associated with it (``AmazonEKSClusterAdminPolicy`` on the cluster reads as
  ``cluster-admin``); the principal's account is kept, and a principal from an account the base
  did not have is called out;
* **policy agent** — the VPC CNI's network policy enforcement (``enableNetworkPolicy``) and its
  enforcing mode (``strict``: a pod no policy selects is denied; ``standard``: allowed until a
  policy selects it — "Restrict traffic with Kubernetes network policies", EKS user guide);
* **exposure** — per tenant, the Service quota that the service-exposure admission policy reads
  (``services.loadbalancers``, ``services.nodeports``);
* **nodes** — launch templates' IMDS settings (tokens, hop limit) and EBS encryption, and the
  secrets encryption of the cluster.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenancy.spec.wire import AWS_EKS_ACCESS_ENTRY as ACCESS_ENTRY
from tenancy.spec.wire import AWS_EKS_ACCESS_POLICY_ASSOCIATION as ACCESS_POLICY
from tenancy.spec.wire import AWS_EKS_ADDON as ADDON
from tenancy.spec.wire import AWS_EKS_CLUSTER as EKS_CLUSTER
from tenancy.spec.wire import AWS_LAUNCH_TEMPLATE as LAUNCH_TEMPLATE
from tenancy.spec.wire import AWS_SECURITY_GROUP as SECURITY_GROUP
from tenancy.spec.wire import AWS_SECURITY_GROUP_RULE as SG_RULE
from tenancy.spec.wire import AWS_SG_INGRESS_RULE as SG_INGRESS
from tenancy.spec.wire import EKS_COMPONENT
from tenancy.spec.wire import K8S_RESOURCE_QUOTA as RESOURCE_QUOTA

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
PERSONA_GROUP_PREFIX = "tenancy:"
EXPOSURE_QUOTAS = {"loadBalancers": "services.loadbalancers", "nodePorts": "services.nodeports"}
API_PORT = 443


@dataclass
class Perimeter:
    public_api: bool = False
    public_cidrs: list[str] = field(default_factory=list)
    private_api: list[str] = field(default_factory=list)
    """Sources the control-plane security group admits on 443: ``10.40.0.0/16``, ``pl-…``, ``sg:<name>``."""
    people: dict[str, list[str]] = field(default_factory=dict)
    """Principal ARN → grants (``cluster-admin``, ``alpha:admins``, ``<policy>@<scope>``, ``group:<g>``)."""
    policy_agent: str = "off"
    """``strict``, ``standard`` or ``off`` (no network policy enforcement)."""
    exposure: dict[str, dict[str, int]] = field(default_factory=dict)
    """Tenant → ``{"loadBalancers": n, "nodePorts": n}`` (its Service quota; absent: unlimited = -1)."""
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Launch template name → ``{"imdsTokens", "imdsHopLimit", "encrypted"}``."""
    secrets_encrypted: bool | None = None

    def accounts(self) -> set[str]:
        return {a for a in (_account(p) for p in self.people) if a}

    def document(self) -> dict[str, Any]:
        return {"api": {"public": self.public_api, "publicCidrs": self.public_cidrs, "private": self.private_api},
                "people": [{"principal": p, "account": _account(p), "grants": g}
                           for p, g in sorted(self.people.items())],
                "policyAgent": self.policy_agent,
                "exposure": {t: self.exposure[t] for t in sorted(self.exposure)},
                "nodes": {n: self.nodes[n] for n in sorted(self.nodes)},
                "secretsEncrypted": self.secrets_encrypted}


def _account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else None


def _of(by_type: Mapping[str, list[Mapping[str, Any]]], *types: str) -> Iterable[Mapping[str, Any]]:
    for t in types:
        yield from by_type.get(t, [])


def _inputs(r: Mapping[str, Any]) -> Mapping[str, Any]:
    return r.get("inputs") or {}


def perimeter_of(resources: Sequence[Mapping[str, Any]]) -> Perimeter:
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["type"], []).append(r)
    p = Perimeter()
    _api(p, resources, by_type)
    _people(p, by_type)
    _policy_agent(p, by_type)
    _exposure(p, by_type)
    _nodes(p, by_type)
    return p


def _api(p: Perimeter, resources: Sequence[Mapping[str, Any]], by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    control_plane: set[str] = set()
    for r in _of(by_type, EKS_COMPONENT):
        i = _inputs(r)
        p.public_api |= bool(i.get("endpointPublicAccess"))
        if i.get("endpointPublicAccess"):
            p.public_cidrs += list(i.get("publicAccessCidrs") or ["0.0.0.0/0"])  # EKS's default when none given
        if i.get("clusterSecurityGroup"):
            control_plane.add(str(i["clusterSecurityGroup"]))
    for r in _of(by_type, EKS_CLUSTER):
        vpc = _inputs(r).get("vpcConfig") or {}
        p.public_api |= bool(vpc.get("endpointPublicAccess"))
        if vpc.get("endpointPublicAccess"):
            p.public_cidrs += list(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"])
        control_plane.update(str(g) for g in vpc.get("securityGroupIds") or [])
    p.public_cidrs = sorted(set(p.public_cidrs))
    names = {str(r.get("id") or (r.get("outputs") or {}).get("id")): r["name"] for r in _of(by_type, SECURITY_GROUP)}
    sources = set()
    for r in _of(by_type, SG_INGRESS, SG_RULE):
        i = _inputs(r)
        if r["type"] == SG_RULE and i.get("type") != "ingress":
            continue
        if str(i.get("securityGroupId")) not in control_plane or not _covers(i, API_PORT):
            continue
        for key in ("cidrIpv4", "cidrIpv6", "prefixListId"):
            if i.get(key):
                sources.add(str(i[key]))
        for c in i.get("cidrBlocks") or []:
            sources.add(str(c))
        for key in ("referencedSecurityGroupId", "sourceSecurityGroupId"):
            if i.get(key):
                sources.add(f"sg:{names.get(str(i[key]), i[key])}")
    p.private_api = sorted(sources)


def _covers(rule: Mapping[str, Any], port: int) -> bool:
    proto = str(rule.get("ipProtocol") or rule.get("protocol") or "")
    if proto in ("-1", "all"):
        return True
    lo, hi = rule.get("fromPort"), rule.get("toPort")  # numbers (the engine sends 443.0)
    if not isinstance(lo, (int, float)) or not isinstance(hi, (int, float)):
        return False
    return proto.lower() in ("tcp", "6") and lo <= port <= hi


def _people(p: Perimeter, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    for r in _of(by_type, ACCESS_ENTRY):
        i = _inputs(r)
        if i.get("type") not in (None, "STANDARD"):
            continue  # node roles (EC2_LINUX …): the nodes, not people
        grants = p.people.setdefault(str(i.get("principalArn")), [])
        for g in i.get("kubernetesGroups") or []:
            parts = str(g).split(":")
            grants.append(f"{parts[1]}:{parts[2]}" if len(parts) == 3 and g.startswith(PERSONA_GROUP_PREFIX)
                          else f"group:{g}")
    for r in _of(by_type, ACCESS_POLICY):
        i = _inputs(r)
        policy = str(i.get("policyArn") or "").rsplit("/", 1)[-1]
        scope = i.get("accessScope") or {}
        where = "cluster" if scope.get("type") == "cluster" else "namespaces " + ",".join(scope.get("namespaces") or [])
        grant = "cluster-admin" if policy == CLUSTER_ADMIN_POLICY and where == "cluster" else f"{policy}@{where}"
        p.people.setdefault(str(i.get("principalArn")), []).append(grant)
    for arn in p.people:
        p.people[arn] = sorted(set(p.people[arn]))


def _policy_agent(p: Perimeter, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    for r in _of(by_type, ADDON):
        i = _inputs(r)
        if i.get("addonName") != "vpc-cni":
            continue
        try:
            cfg = json.loads(i.get("configurationValues") or "{}")
        except (TypeError, ValueError):
            cfg = {}
        if str(cfg.get("enableNetworkPolicy", "false")).lower() != "true":
            p.policy_agent = "off"
            continue
        # The agent's default mode is standard (aws-network-policy-agent, NETWORK_POLICY_ENFORCING_MODE).
        p.policy_agent = str((cfg.get("env") or {}).get("NETWORK_POLICY_ENFORCING_MODE") or "standard").lower()


def _exposure(p: Perimeter, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    for r in _of(by_type, RESOURCE_QUOTA):
        t = r.get("tenant")
        spec = _inputs(r).get("spec") or {}
        if not t or spec.get("scopeSelector") or spec.get("scopes"):
            continue
        hard = spec.get("hard") or {}
        got = p.exposure.setdefault(str(t), {k: -1 for k in EXPOSURE_QUOTAS})
        for key, quota in EXPOSURE_QUOTAS.items():
            if quota in hard:
                n = int(str(hard[quota]))
                got[key] = n if got[key] < 0 else min(got[key], n)


def _nodes(p: Perimeter, by_type: Mapping[str, list[Mapping[str, Any]]]) -> None:
    for r in _of(by_type, LAUNCH_TEMPLATE):
        i = _inputs(r)
        md = i.get("metadataOptions") or {}
        volumes = [(m.get("ebs") or {}) for m in i.get("blockDeviceMappings") or []]
        p.nodes[str(r["name"])] = {
            "imdsTokens": md.get("httpTokens") or "optional",
            "imdsHopLimit": int(hop) if isinstance(hop := md.get("httpPutResponseHopLimit"), (int, float)) else None,
            "encrypted": bool(volumes) and all(str(v.get("encrypted")).lower() == "true" for v in volumes)}
    for r in _of(by_type, EKS_COMPONENT):
        p.secrets_encrypted = bool(_inputs(r).get("encryptionConfigKeyArn"))
    for r in _of(by_type, EKS_CLUSTER):
        enc = _inputs(r).get("encryptionConfig") or {}
        key = (enc.get("provider") or {}).get("keyArn")
        p.secrets_encrypted = "secrets" in (enc.get("resources") or []) and bool(key)


# --------------------------------------------------------------------------------------------
# Changes


def _change(change: str, layer: str, tenant: str | None, detail: str, value: Any) -> dict[str, Any]:
    return {"change": change, "layer": layer, "tenant": tenant, "peer": None, "detail": detail, "value": value}


def _net(source: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(source, strict=False)
    except ValueError:
        return None


def _widened(new: Iterable[str], old: Iterable[str]) -> list[str]:
    """Sources of ``new`` not inside any source of ``old`` (a CIDR inside a CIDR of ``old`` is not new)."""
    old_nets = [n for n in (_net(s) for s in old) if n is not None]
    old_set = set(old)
    out = []
    for s in new:
        n = _net(s)
        if s in old_set:
            continue
        if n is not None and any(n.version == o.version and n.subnet_of(o) for o in old_nets):  # type: ignore[arg-type]
            continue
        out.append(s)
    return sorted(out)


MODE_RANK = {"off": 0, "standard": 1, "strict": 2}


def perimeter_changes(b: Perimeter, h: Perimeter) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if h.public_api and not b.public_api:
        out.append(_change("loosened", "api", None, f"the API endpoint is public to {', '.join(h.public_cidrs)}",
                           h.public_cidrs))
    elif b.public_api and not h.public_api:
        out.append(_change("tightened", "api", None, "the API endpoint is no longer public", b.public_cidrs))
    elif h.public_api:
        for c in _widened(h.public_cidrs, b.public_cidrs):
            out.append(_change("loosened", "api", None, f"the public API endpoint admits {c}", c))
        for c in _widened(b.public_cidrs, h.public_cidrs):
            out.append(_change("tightened", "api", None, f"the public API endpoint no longer admits {c}", c))
    for s in _widened(h.private_api, b.private_api):
        out.append(_change("loosened", "api", None, f"the private API endpoint admits {s}", s))
    for s in _widened(b.private_api, h.private_api):
        out.append(_change("tightened", "api", None, f"the private API endpoint no longer admits {s}", s))
    known = b.accounts()
    for arn in sorted(set(b.people) | set(h.people)):
        old, new = set(b.people.get(arn, [])), set(h.people.get(arn, []))
        acct = _account(arn)
        stranger = f" — account {acct}, not seen before in this platform" if acct and acct not in known else ""
        for g in sorted(new - old):
            out.append(_change("loosened", "people", _grant_tenant(g), f"{arn} gains {g}{stranger}",
                               {"principal": arn, "account": acct, "grant": g, "newAccount": bool(stranger)}))
        for g in sorted(old - new):
            out.append(_change("tightened", "people", _grant_tenant(g), f"{arn} loses {g}",
                               {"principal": arn, "account": acct, "grant": g}))
    if b.policy_agent != h.policy_agent:
        change = "loosened" if MODE_RANK.get(h.policy_agent, 0) < MODE_RANK.get(b.policy_agent, 0) else "tightened"
        out.append(_change(change, "policy-agent", None,
                           f"network policy enforcement {b.policy_agent} → {h.policy_agent}"
                           + (" (a pod no policy selects is no longer denied)" if b.policy_agent == "strict" else ""),
                           {"from": b.policy_agent, "to": h.policy_agent}))
    for t in sorted(set(b.exposure) & set(h.exposure)):
        for key in EXPOSURE_QUOTAS:
            old_n, new_n = b.exposure[t][key], h.exposure[t][key]
            if old_n == new_n:
                continue
            wider = new_n < 0 or (old_n >= 0 and new_n > old_n)
            shown = "unlimited" if new_n < 0 else str(new_n)
            out.append(_change("loosened" if wider else "tightened", "exposure", t,
                               f"{t} may create {shown} Service(s) of type {_kind(key)} (was "
                               f"{'unlimited' if old_n < 0 else old_n})", {key: new_n}))
    for t in sorted(set(h.exposure) - set(b.exposure)):
        granted = {k: v for k, v in h.exposure[t].items() if v != 0}
        if granted:
            out.append(_change("loosened", "exposure", t, f"new tenant {t} may create "
                               + ", ".join(f"{'unlimited' if v < 0 else v} {_kind(k)}" for k, v in granted.items()),
                               granted))
    out += _node_changes(b, h)
    return out


def _grant_tenant(grant: str) -> str | None:
    head = grant.split(":", 1)[0]
    return head if ":" in grant and head not in ("group",) else None


def _grants(exposure: Mapping[str, int]) -> str:
    return ", ".join(f"{'unlimited' if v < 0 else v} {_kind(k)}" for k, v in exposure.items() if v)


def _kind(key: str) -> str:
    return "LoadBalancer" if key == "loadBalancers" else "NodePort"


def _node_changes(b: Perimeter, h: Perimeter) -> list[dict[str, Any]]:
    out = []
    for name in sorted(set(b.nodes) & set(h.nodes)):
        old, new = b.nodes[name], h.nodes[name]
        if old["imdsTokens"] != new["imdsTokens"]:
            change = "loosened" if new["imdsTokens"] != "required" else "tightened"
            out.append(_change(change, "nodes", None, f"{name}: IMDS tokens {old['imdsTokens']} → {new['imdsTokens']}",
                               {"template": name, "httpTokens": new["imdsTokens"]}))
        if old["imdsHopLimit"] != new["imdsHopLimit"]:
            change = "loosened" if (new["imdsHopLimit"] or 99) > (old["imdsHopLimit"] or 99) else "tightened"
            out.append(_change(change, "nodes", None,
                               f"{name}: IMDS hop limit {old['imdsHopLimit']} → {new['imdsHopLimit']}"
                               + (" (pods can reach the node's credentials)" if (new["imdsHopLimit"] or 2) > 1 else ""),
                               {"template": name, "httpPutResponseHopLimit": new["imdsHopLimit"]}))
        if old["encrypted"] != new["encrypted"]:
            out.append(_change("tightened" if new["encrypted"] else "loosened", "nodes", None,
                               f"{name}: EBS volumes {'encrypted' if new['encrypted'] else 'no longer encrypted'}",
                               {"template": name, "encrypted": new["encrypted"]}))
    if b.secrets_encrypted and h.secrets_encrypted is False:
        out.append(_change("loosened", "nodes", None, "Kubernetes secrets are no longer envelope-encrypted", False))
    return out


# --------------------------------------------------------------------------------------------
# The head's security summary (for the merge-request comment)


def summary_markdown(doc: Mapping[str, Any]) -> list[str]:
    """A short security summary of one render (its :meth:`Perimeter.document`): API reach, admins,
    accounts, exposure, loosened defaults."""
    api = doc["api"]
    people = doc["people"]
    lines = ["#### Security summary (head)", ""]
    reach = f"public to {', '.join(api['publicCidrs'])}" if api["public"] else "private only"
    lines.append(f"- **API**: {reach}; the private endpoint admits {', '.join(api['private']) or 'nothing'}.")
    admins = sorted(x["principal"] for x in people if "cluster-admin" in x["grants"])
    lines.append(f"- **Cluster admins** ({len(admins)}): {', '.join(admins) or '—'}.")
    accounts = sorted({x["account"] for x in people if x["account"]})
    lines.append(f"- **People**: {len(people)} principal(s) from {len(accounts)} account(s): "
                 f"{', '.join(accounts) or '—'}.")
    exposed = sorted(f"{t} ({_grants(e)})" for t, e in doc["exposure"].items() if any(e.values()))
    none = "no tenant may create LoadBalancer or NodePort Services"
    lines.append(f"- **Service exposure**: {', '.join(exposed) or none}.")
    weak = [n for n, v in sorted(doc["nodes"].items())
            if v["imdsTokens"] != "required" or (v["imdsHopLimit"] or 2) > 1 or not v["encrypted"]]
    defaults = []
    if doc["policyAgent"] != "strict":
        defaults.append(f"network policy enforcement {doc['policyAgent']}")
    if weak:
        defaults.append(f"launch templates without IMDSv2 hop 1 or encryption: {', '.join(weak)}")
    if doc["secretsEncrypted"] is False:
        defaults.append("secrets not envelope-encrypted")
    lines.append(f"- **Loosened defaults**: {'; '.join(defaults) or 'none'}.")
    return lines + [""]
