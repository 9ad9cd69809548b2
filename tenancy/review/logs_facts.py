"""Log isolation facts: where each namespace's container logs go, and who may read or write each
log group — from a render's resources alone, like :mod:`tenancy.review.facts` (whose
:class:`~tenancy.review.facts.IsolationFacts` holds them as ``logs``).

* **groups** — every CloudWatch log group: its tenant (the ``tenancy/tenant`` tag, none for the
  platform's own groups), whether it names a KMS key, its retention.
* **access** — (role, group, ``read``/``write``) for every IAM role whose documents allow a read
  action (GetLogEvents, FilterLogEvents, StartQuery) or PutLogEvents on the group (or its streams),
  evaluated with IAM's wildcard matching against the group's ARN — never from role names.
* **routes** — (namespace, group) for every collector configuration found in a ConfigMap (a JSON
  or YAML document with ``receivers``, ``exporters`` and ``service.pipelines``): a pipeline's
  filelog ``include`` globs are matched against a sample kubelet log path of each known namespace
  (the tenants', ``kube-system``, and a probe namespace no one owns), and the pipeline's exporters'
  ``log_group_name`` are its destinations.

A route from a tenant's namespace to another tenant's group, a route from a namespace no tenant
owns into a tenant's group, a role of one tenant reading another's group, and a role that writes
tenants' groups and also a group of no tenant (the router forging the platform's flow logs) are
what ``tenancy check`` refuses (:func:`violations`) and ``tenancy diff`` reports as loosened
(:func:`changes`).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenancy.spec.wire import AWS_IAM_ROLE as IAM_ROLE
from tenancy.spec.wire import AWS_LOG_GROUP as LOG_GROUP
from tenancy.spec.wire import TENANT_LABEL

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
READ = ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery")
WRITE = ("logs:PutLogEvents",)
PODS = "/var/log/pods"
PROBE_NAMESPACES = ("kube-system", "unowned-probe")
"""Namespaces no tenant owns, probed against every route (a glob matching them leaks platform logs
into a tenant's group)."""


@dataclass
class LogFacts:
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    """(role, group, read|write) → the role's tenant (its ``tenancy/tenant`` tag or owner), if any."""
    routes: dict[tuple[str, str], str | None] = field(default_factory=dict)
    """(namespace, group) → the namespace's tenant, if any."""

    def document(self) -> dict[str, Any]:
        return {
            "groups": {g: self.groups[g] for g in sorted(self.groups)},
            "access": [{"role": r, "roleTenant": t, "group": g, "groupTenant": self.tenant_of(g), "access": a}
                       for (r, g, a), t in sorted(self.access.items())],
            "routes": [{"namespace": n, "tenant": t, "group": g, "groupTenant": self.tenant_of(g)}
                       for (n, g), t in sorted(self.routes.items())],
        }

    def tenant_of(self, group: str) -> str | None:
        return (self.groups.get(group) or {}).get("tenant")

    def __bool__(self) -> bool:
        return bool(self.routes or (self.access and any(g.get("tenant") for g in self.groups.values())))


def _match(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _anywhere(arn: str) -> str:
    """``arn:<partition>:<service>:*:*:<resource>``: Region and account left open, so that a live
    account's documents are judged against the render's ARNs (mock account) alike — an
    over-approximation, the safe side for an isolation fact."""
    parts = arn.split(":", 5)
    return ":".join([*parts[:3], "*", "*", parts[5]]) if len(parts) == 6 and parts[0] == "arn" else arn


def _allows(docs: Sequence[Mapping[str, Any]], action: str, resource: str) -> bool:
    """Allow statements only (the platform writes no Deny into identity policies); a statement with
    a condition counts as allowing (the condition may hold: the safe side for an isolation fact)."""
    def lst(v: Any) -> list[Any]:
        return v if isinstance(v, list) else [v]
    for d in docs:
        for s in lst(d.get("Statement", [])):
            if s.get("Effect") != "Allow":
                continue
            if any(_match(a, action) for a in lst(s.get("Action", []))) and \
                    any(_match(_anywhere(str(r)), _anywhere(resource)) for r in lst(s.get("Resource", []))):
                return True
    return False


def _config(text: Any) -> Mapping[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            import yaml

            doc = yaml.safe_load(text)
        except Exception:  # noqa: BLE001 — not a collector configuration
            return None
    if isinstance(doc, Mapping) and {"receivers", "exporters", "service"} <= set(doc):
        return doc
    return None


def log_facts(resources: Sequence[Mapping[str, Any]], role_docs: Mapping[str, list[dict[str, Any]]],
              namespaces: Mapping[str, str | None]) -> LogFacts:
    """The log facts. ``role_docs``: role URN → permission documents
    (:func:`tenancy.review.facts.role_documents`); ``namespaces``: namespace → its tenant."""
    f = LogFacts()
    arns: dict[str, str] = {}
    for r in resources:
        if r["type"] != LOG_GROUP:
            continue
        i, o = r.get("inputs") or {}, r.get("outputs") or {}
        name = str(i.get("name") or o.get("name") or r["name"])
        f.groups[name] = {"tenant": (i.get("tags") or {}).get(TENANT_LABEL) or r.get("tenant"),
                          "kms": bool(i.get("kmsKeyId")), "retentionDays": i.get("retentionInDays")}
        arns[name] = str(o.get("arn") or f"arn:aws:logs:*:*:log-group:{name}").removesuffix(":*")
    for r in resources:
        if r["type"] != IAM_ROLE:
            continue
        docs = role_docs.get(r["urn"], [])
        name = str((r.get("inputs") or {}).get("name") or r["name"])
        owner = ((r.get("inputs") or {}).get("tags") or {}).get(TENANT_LABEL) or r.get("tenant")
        for g, arn in arns.items():
            stream = f"{arn}:log-stream:probe"
            if any(_allows(docs, a, arn) or _allows(docs, a, stream) for a in READ):
                f.access[(name, g, "read")] = owner
            if any(_allows(docs, a, stream) for a in WRITE):
                f.access[(name, g, "write")] = owner
    probes = {**{ns: None for ns in PROBE_NAMESPACES}, **namespaces}
    for r in resources:
        if r["type"] != CONFIG_MAP:
            continue
        for text in ((r.get("inputs") or {}).get("data") or {}).values():
            cfg = _config(text)
            if cfg is None:
                continue
            recv, exp = cfg.get("receivers") or {}, cfg.get("exporters") or {}
            for p in ((cfg.get("service") or {}).get("pipelines") or {}).values():
                globs = [g for rid in p.get("receivers", []) for g in (recv.get(rid) or {}).get("include", [])]
                groups = [str((exp.get(e) or {}).get("log_group_name", f"<{e}>")) for e in p.get("exporters", [])]
                for ns, tenant in probes.items():
                    sample = f"{PODS}/{ns}_pod-0_00000000-0000-0000-0000-000000000000/app/0.log"
                    if any(_match(g, sample) for g in globs):
                        for g in groups:
                            f.routes[(ns, g)] = tenant
    return f


def violations(f: LogFacts) -> list[tuple[str | None, str, str]]:
    """(tenant, subject, message) for each broken log wall (module doc)."""
    out: list[tuple[str | None, str, str]] = []
    for (ns, g), tenant in sorted(f.routes.items()):
        owner = f.tenant_of(g)
        if owner is not None and owner != tenant:
            whose = f"tenant {tenant}'s namespace {ns}" if tenant else f"namespace {ns}, which no tenant owns,"
            out.append((owner, g, f"container logs of {whose} are routed to tenant {owner}'s log group {g}"))
        elif owner is None and tenant is not None:
            out.append((tenant, g, f"tenant {tenant}'s container logs (namespace {ns}) are routed to {g}, "
                                   "a group of no tenant"))
    writers = {r for (r, g, a) in f.access if a == "write" and f.tenant_of(g) is not None}
    for (role, g, access), role_tenant in sorted(f.access.items()):
        owner = f.tenant_of(g)
        if role_tenant is not None and owner != role_tenant:
            out.append((role_tenant, role, f"role {role} of tenant {role_tenant} can {access} log group {g}"
                                           + (f" (tenant {owner}'s)" if owner else "")))
        elif role in writers and access == "write" and owner is None:
            out.append((None, role, f"role {role} writes tenants' log groups and also {g}, a group of no tenant "
                                    "(it could forge the platform's records)"))
    for g, info in sorted(f.groups.items()):
        if info.get("tenant") and not (info.get("kms") and info.get("retentionDays")):
            out.append((info["tenant"], g, f"tenant log group {g} lacks "
                                           + " and ".join(w for w, ok in (("a KMS key", info.get("kms")),
                                                                          ("a retention", info.get("retentionDays")))
                                                          if not ok)))
    return out


def changes(base: LogFacts, head: LogFacts, new_or_gone: set[str]) -> list[tuple[str, str | None, str | None, str]]:
    """(loosened|tightened, tenant, peer, detail) between two renders' log facts."""
    out: list[tuple[str, str | None, str | None, str]] = []
    for key in sorted(set(base.access) ^ set(head.access)):
        role, g, access = key
        owner = (head if key in head.access else base).tenant_of(g)
        if owner in new_or_gone or g not in base.groups or g not in head.groups:
            continue  # a tenant or a group came or went: its resources say so
        who = (head.access if key in head.access else base.access)[key]
        peer = who if who != owner else None
        if key in head.access:
            out.append(("loosened", owner, peer, f"role {role} can now {access} log group {g}"))
        else:
            out.append(("tightened", owner, peer, f"role {role} can no longer {access} log group {g}"))
    for rkey in sorted(set(base.routes) ^ set(head.routes)):
        ns, g = rkey
        src = (head.routes if rkey in head.routes else base.routes)[rkey]
        owner = (head if rkey in head.routes else base).tenant_of(g)
        if owner == src or (owner in new_or_gone) or (src in new_or_gone):
            continue  # a tenant's own route: routing, not isolation
        verb = "now" if rkey in head.routes else "no longer"
        out.append(("loosened" if rkey in head.routes else "tightened", owner, src,
                    f"container logs of namespace {ns} are {verb} routed to log group {g}"))
    return out
