"""Observability in review: the check that every tenant's dashboard and saved queries read only
its own namespaces and address block, that the metrics agent ships no container logs to a
shared group, and that backups are encrypted — and the ``tenancy diff`` isolation changes of the
same facts (:attr:`tenancy.review.facts.IsolationFacts.observability`).

Loosenings: the agent's role gains a policy or an action (a new agent: all of them); the agent
starts shipping container logs (to the add-on's one group, every tenant's lines together); a
tenant's dashboard or query starts reading another tenant's namespace or block; the backup
selection gains a resource or its role a trusted principal (turning backups on: every tenant's
namespace is copied to the vault); the vault loses its key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from tenancy.review.facts import IsolationFacts

LAYER = "observability"


def _foreign(facts: IsolationFacts, tenant: str, namespaces: Sequence[str], blocks: Sequence[str],
             own_blocks: Mapping[str, set[str]]) -> list[str]:
    """Namespaces of OTHER tenants, and blocks other tenants' queries claim, that ``tenant``'s
    observation reads."""
    out = [f"namespace {ns} (tenant {other})" for ns in namespaces
           if (other := facts.namespace_tenant(ns)) is not None and other != tenant]
    for b in blocks:
        others = sorted(t for t, bs in own_blocks.items()
                        if t != tenant and b in bs and b not in own_blocks.get(tenant, set()))
        out += [f"block {b} (tenant {o})" for o in others]
    return out


def _blocks(o: Mapping[str, Any]) -> dict[str, set[str]]:
    return {t: {b for q in qs for b in q.get("blocks") or []} for t, qs in (o.get("queries") or {}).items()}


def scope_problems(facts: IsolationFacts) -> list[tuple[str | None, str]]:
    """(tenant, message) for each observability object that reaches past its tenant."""
    o = facts.observability
    if not o:
        return []
    out: list[tuple[str | None, str]] = []
    for t, ns in (o.get("dashboards") or {}).items():
        for what in _foreign(facts, t, ns, [], {}):
            out.append((t, f"{t}'s dashboard reads {what}: pin its metrics to the tenant's own namespaces"))
    for t, qs in (o.get("queries") or {}).items():
        for q in qs:
            for what in _foreign(facts, t, q.get("namespaces") or [], [], {}):
                out.append((t, f"{t}'s saved query {q.get('name')} reads {what}"))
    agent = o.get("agent")
    if agent and agent.get("containerLogs"):
        out.append((None, "the CloudWatch agent ships every namespace's container logs to ONE shared log group: "
                          "set containerLogs.enabled false (per-tenant logs: observability.logs)"))
    backup = o.get("backup")
    if backup and not backup.get("encrypted"):
        out.append((None, "the backup vault has no customer managed KMS key"))
    return out


def _change(change: str, tenant: str | None, detail: str) -> dict[str, Any]:
    return {"change": change, "layer": LAYER, "tenant": tenant, "peer": None, "detail": detail}


def _overlaps(a: str, b: str) -> bool:
    try:
        return ipaddress.IPv4Network(a).overlaps(ipaddress.IPv4Network(b))
    except ValueError:
        return False


def changes(base: IsolationFacts, head: IsolationFacts) -> list[dict[str, Any]]:
    """Isolation changes of the observability facts, base → head."""
    b, h = base.observability or {}, head.observability or {}
    out = []
    ba, ha = b.get("agent") or {}, h.get("agent") or {}
    for key, noun in (("policies", "policy"), ("actions", "action"), ("roles", "role")):
        gained = sorted(set(ha.get(key) or []) - set(ba.get(key) or []))
        lost = sorted(set(ba.get(key) or []) - set(ha.get(key) or []))
        if gained:
            out.append(_change("loosened", None, f"the CloudWatch agent gains {noun}(s) {', '.join(gained)}"))
        if lost and ha:
            out.append(_change("tightened", None, f"the CloudWatch agent loses {noun}(s) {', '.join(lost)}"))
    if ha.get("containerLogs") and not (ba and ba.get("containerLogs")):
        out.append(_change("loosened", None, "the CloudWatch agent now ships container logs to one shared group"))
    head_blocks = _blocks(h)
    for t in sorted(set(h.get("dashboards") or {}) | set(h.get("queries") or {})):
        before = set((b.get("dashboards") or {}).get(t) or []) | {
            n for q in (b.get("queries") or {}).get(t) or [] for n in q.get("namespaces") or []}
        now = set((h.get("dashboards") or {}).get(t) or []) | {
            n for q in (h.get("queries") or {}).get(t) or [] for n in q.get("namespaces") or []}
        for what in _foreign(head, t, sorted(now - before), [], {}):
            out.append(_change("loosened", t, f"{t}'s dashboard or saved query now reads {what}"))
        old_blocks = {x for q in (b.get("queries") or {}).get(t) or [] for x in q.get("blocks") or []}
        for blk in sorted(head_blocks.get(t, set()) - old_blocks):
            hit = sorted(o for o, bs in head_blocks.items() if o != t and any(_overlaps(blk, x) for x in bs))
            if hit:
                out.append(_change("loosened", t, f"{t}'s flow query now reads block {blk}, also {', '.join(hit)}'s"))
    bb, hb = b.get("backup") or {}, h.get("backup") or {}
    if hb:
        added = sorted(set(hb.get("selection") or []) - set(bb.get("selection") or []))
        if added:
            out.append(_change("loosened", None, f"the backup selection now also covers {', '.join(added)}"))
        trusted = sorted(set(hb.get("trust") or []) - set(bb.get("trust") or []))
        if trusted:
            out.append(_change("loosened", None, f"the backup role now trusts {', '.join(trusted)}"))
        if bb.get("encrypted") and not hb.get("encrypted"):
            out.append(_change("loosened", None, "the backup vault loses its customer managed key"))
    return out


def report_lines(facts: IsolationFacts) -> list[str]:
    """The render report's "Observability" section: the agent, each tenant's dashboard and saved
    queries (run them in CloudWatch Logs Insights, or with ``tenancy verify --run-queries``), backups."""
    o = facts.observability or {}
    lines = ["## Observability", ""]
    agent = o.get("agent")
    lines.append("- metrics: " + (
        f"Container Insights add-on, role {', '.join(f'`{r}`' for r in agent.get('roles') or []) or '(none)'} "
        f"({len(agent.get('actions') or [])} actions"
        f"{''.join(', ' + p.rsplit('/', 1)[-1] for p in agent.get('policies') or [])}); "
        f"container logs {'ON to one shared group' if agent.get('containerLogs') else 'off'}"
        if agent else "off (`observability.metrics.enabled`)"))
    backup = o.get("backup")
    lines.append("- backups: " + (
        f"AWS Backup of {', '.join(f'`{a}`' for a in backup.get('selection') or [])}, vault "
        f"{'encrypted with its own key' if backup.get('encrypted') else 'NOT encrypted with a customer key'}; "
        "restore one tenant's namespace: docs/observability.md, \"Backups\""
        if backup else "off (`observability.backup.enabled`)"))
    dashboards, queries = o.get("dashboards") or {}, o.get("queries") or {}
    if not (dashboards or queries):
        return [*lines, "- saved queries: off (`observability.savedQueries`)"]
    lines += ["", "Per tenant: its dashboard's namespaces; its saved Logs Insights queries (log groups):", ""]
    for t in sorted(set(dashboards) | set(queries)):
        board = f"dashboard on {', '.join(dashboards[t])}" if t in dashboards else "no dashboard"
        qs = "; ".join(f"`{q['name']}` ({', '.join(q['logGroups'])})" for q in queries.get(t) or []) or "no queries"
        lines.append(f"- {t}: {board}; {qs}")
    return lines
