"""Write a render to disk: resources.json, manifests/, report.md — atomically.

Everything goes to a temporary sibling directory first, which then replaces DIR in one rename,
so a failed or interrupted render never leaves a half-written DIR.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from tenancy.plan.compute import report_lines as compute_report_lines
from tenancy.plan.pools import etcd_lines
from tenancy.plan.pools import report_lines as pool_report_lines
from tenancy.render.engine import quiet_gc
from tenancy.render.result import RenderResult
from tenancy.review import operability, principals
from tenancy.review.facts import INTERNET, IsolationFacts, _fmt_ports, facts_of
from tenancy.review.observability import report_lines as observability_report_lines
from tenancy.spec import naming
from tenancy.spec.lifecycle import LIFECYCLE_FILE, lifecycle_record
from tenancy.spec.models import AllowFrom
from tenancy.spec.wire import PLATFORM_TYPE

_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter when built in


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    pass


def _edge_text(edge: AllowFrom) -> str:
    """One ``allowFrom`` edge for the report: the peer, with its ports when it has some."""
    return edge.tenant if edge.ports is None else f"{edge.tenant} ({', '.join(map(str, edge.ports))})"


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


class _Slow(Exception):
    """A value :func:`_node` leaves to PyYAML's own representer."""


_STR, _NULL, _BOOL, _INT = (f"tag:yaml.org,2002:{t}" for t in ("str", "null", "bool", "int"))
_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def _node(value: Any, seen: set[int]) -> yaml.Node:
    """The node :class:`_Dumper`'s representer builds for ``value`` (the same tags, styles and
    order), built directly: PyYAML's generic representer (type dispatch through the MRO, alias
    bookkeeping) was most of the manifests' writing time. Raises :class:`_Slow` for what the fast
    path does not cover: other types, and a container met twice (PyYAML writes an alias)."""
    t = type(value)
    if t is str:
        return yaml.ScalarNode(_STR, value, style="|" if "\n" in value else None)
    if t is dict or t is list:
        if id(value) in seen:
            raise _Slow
        seen.add(id(value))
        if t is dict:
            return yaml.MappingNode(_MAP, [(_node(k, seen), _node(v, seen)) for k, v in value.items()],
                                    flow_style=False)
        return yaml.SequenceNode(_SEQ, [_node(v, seen) for v in value], flow_style=False)
    if value is None:
        return yaml.ScalarNode(_NULL, "null")
    if t is bool:
        return yaml.ScalarNode(_BOOL, "true" if value else "false")
    if t is int:
        return yaml.ScalarNode(_INT, str(value))
    raise _Slow


def dump_manifests(objs: list[dict[str, Any]]) -> str:
    """The objects as one YAML stream: the bytes of ``yaml.dump_all(objs, Dumper=_Dumper,
    sort_keys=False, default_flow_style=False, width=120)``, faster (see :func:`_node`)."""
    stream = io.StringIO()
    dumper = _Dumper(stream, default_flow_style=False, width=120, sort_keys=False)
    try:
        dumper.open()
        for obj in objs:
            try:
                node = _node(obj, set())
            except _Slow:
                dumper.represent(obj)
            else:
                dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def dump_json(value: Any) -> str:
    """``json.dumps(value, indent=2, sort_keys=True)``, byte for byte, about twice as fast:
    with ``indent`` the standard library falls back to its pure-Python encoder; this walks the
    value once, encoding strings with the C encoder's function. Values it does not cover (other
    types, non-string keys) fall back to ``json.dumps``."""
    out: list[str] = []
    add = out.append
    enc = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]

    def walk(v: Any, pad: str) -> None:
        t = type(v)
        if t is str:
            add(enc(v))
        elif t is dict:
            if not v:
                add("{}")
                return
            inner = pad + "  "
            sep = "{\n" + inner
            if any(type(k) is not str for k in v):
                raise _Slow
            for k in sorted(v):
                add(sep)
                add(enc(k))
                add(": ")
                walk(v[k], inner)
                sep = ",\n" + inner
            add("\n" + pad + "}")
        elif t is list:
            if not v:
                add("[]")
                return
            inner = pad + "  "
            sep = "[\n" + inner
            for x in v:
                add(sep)
                walk(x, inner)
                sep = ",\n" + inner
            add("\n" + pad + "]")
        elif v is None:
            add("null")
        elif v is True:
            add("true")
        elif v is False:
            add("false")
        elif t is int:
            add(int.__repr__(v))
        elif t is float and v == v and v not in (float("inf"), float("-inf")):
            add(float.__repr__(v))
        else:
            raise _Slow

    try:
        walk(value, "")
    except (_Slow, RecursionError):
        return json.dumps(value, indent=2, sort_keys=True)
    return "".join(out)


def write_render(result: RenderResult, out_dir: Path) -> Path:
    """Write the render into ``out_dir`` (replacing it whole) and return it."""
    with quiet_gc():  # see quiet_gc: the render's records are all alive while it is written
        return _write_render(result, out_dir)


def _write_render(result: RenderResult, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        (tmp / "resources.json").write_text(dump_json(result.document()) + "\n")
        mdir = tmp / "manifests"
        mdir.mkdir()
        manifests = result.manifests
        for group, objs in manifests.items():
            (mdir / f"{group}.yaml").write_text(dump_manifests(objs))
        (tmp / "outputs.json").write_text(json.dumps(result.stack_outputs, indent=2, sort_keys=True) + "\n")
        (tmp / "report.md").write_text(report(result, manifests) if result.platform_spec is not None
                                       else program_report(result))
        if result.platform_spec is not None:
            (tmp / LIFECYCLE_FILE).write_text(json.dumps(lifecycle_record(result.platform_spec), indent=2,
                                                         sort_keys=True) + "\n")
        os.chmod(tmp, 0o755)
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            os.rename(out_dir, old / "previous")
        os.rename(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def plan_public(spec: Any) -> str:
    """The public subnets' block (load balancers live there)."""
    return str(spec.address_plan.block(0))


def _weakened(result: RenderResult) -> list[str]:
    """Settings that loosen a secure default, so a reviewer sees them."""
    s = result.spec
    out = []
    if s.cluster.endpoint_public_access_cidrs:
        out.append(f"cluster API endpoint is public for {', '.join(s.cluster.endpoint_public_access_cidrs)}")
    vpc = ipaddress.IPv4Network(s.vpc_cidr)
    outside = [c for c in s.cluster.api_access_cidrs or [] if not ipaddress.IPv4Network(c).subnet_of(vpc)]
    if outside:
        out.append(f"the private API endpoint admits addresses outside the VPC: {', '.join(outside)}")
    if s.cluster.api_access_security_group_ids:
        out.append("the private API endpoint admits the security groups "
                   f"{', '.join(s.cluster.api_access_security_group_ids)}")
    if s.workloads.ingress_controller_namespace:
        out.append(f"pods in namespace `{s.workloads.ingress_controller_namespace}` (ingress controller) may open "
                   "connections into every tenant")
        out.append(f"load balancers in the public subnets ({plan_public(s)}) may reach the system nodes on TCP 80 and "
                   "443 (the ingress controller)")
    if s.network.nat_gateways == "single":
        out.append("a single NAT gateway serves every zone (a zone outage cuts all egress)")
    for t in s.tenants:
        if t.internet_egress:
            out.append(f"tenant `{t.name}` may open connections to the internet")
        if t.quota.load_balancers or t.quota.node_ports:
            out.append(f"tenant `{t.name}` may create {t.quota.load_balancers} LoadBalancer and "
                       f"{t.quota.node_ports} NodePort services")
    return out


def mermaid_graph(resources: list[dict[str, Any]], facts: IsolationFacts | None = None) -> str:
    """A Mermaid flowchart of tenants and who may open connections to whom, from the render's
    isolation facts (:mod:`tenancy.review.facts`): a solid arrow where every modelled layer (security
    groups and NetworkPolicies) lets the source reach the destination, labelled with the ports when
    the edge is port-scoped (``tcp/443``); dotted arrows to the
    internet and from non-tenant namespaces (ingress controller) into tenants."""
    f = facts if facts is not None else facts_of(resources)
    tenants = sorted(f.tenants)
    ids = {t: f"t{i}" for i, t in enumerate(tenants)}
    lines = ["```mermaid", "flowchart LR"]
    lines += [f'  {ids[t]}["{t}"]' for t in tenants]
    extra: dict[str, str] = {}
    for (a, b) in sorted(f.network):
        if not f.open(a, b) or a == b:
            continue
        if a in ids and b in ids:  # labelled with the ports of a port-scoped edge
            ports = f.network[(a, b)].get("networkPolicy") or []
            label = "" if any(p == "any" for p, _, _ in ports) else f"|{' '.join(_fmt_ports(ports))}|"
            lines.append(f"  {ids[a]} -->{label} {ids[b]}")
        elif a in ids and b == INTERNET:
            extra.setdefault(b, f"x{len(extra)}")
            lines.append(f"  {ids[a]} -.-> {extra[b]}")
        elif b in ids and a not in ids and not a.startswith("platform:") and a != "kube-system":
            extra.setdefault(a, f"x{len(extra)}")
            lines.append(f"  {extra[a]} -.-> {ids[b]}")
    lines += [f'  {i}(("{name}"))' for name, i in sorted(extra.items())]
    lines.append("```")
    return "\n".join(lines)


def owners(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Who each resource belongs to, for counting: its tenant (the nearest tenant component above
    it), ``platform`` (below the :class:`~tenancy.Platform` component and no tenant's), or
    ``program`` — registered by the program outside tenancy's components (a library user's own
    resources, per tenant or not: never counted as the platform's)."""
    by_urn = {r["urn"]: r for r in resources}
    memo: dict[str, str] = {}

    def find(urn: str) -> str:
        chain: list[str] = []
        cur: str | None = urn
        found = PROGRAM_OWNER
        while cur is not None and cur in by_urn:
            if cur in memo:
                found = memo[cur]
                break
            chain.append(cur)
            r = by_urn[cur]
            if r["tenant"] is not None:
                found = str(r["tenant"])
                break
            if r["type"] == PLATFORM_TYPE:
                found = PLATFORM_OWNER
                break
            cur = r.get("parent")
        for c in chain:
            memo[c] = found
        return found

    return {r["urn"]: find(r["urn"]) for r in resources}


PLATFORM_OWNER, PROGRAM_OWNER = "platform", "program"


def tenants_line(spec: Any) -> str:
    """How the tenants sit in the address plan: dedicated tenants (and pools) in slots, pooled
    tenants on pools — "40 tenants: 12 dedicated and 2 node pools in 14 of 30 slots (/21 blocks),
    28 pooled on the 2 pools (`a`: 20, `b`: 8)", never a count of tenants against the slots alone."""
    plan = spec.address_plan
    n = len(spec.tenants)
    pooled: Counter[str] = Counter(t.pool for t in spec.tenants if t.pool is not None)
    dedicated = n - sum(pooled.values())
    blocks = f"/{spec.tenant_block_prefix} blocks"
    if not spec.node_pools:
        return f"{n} tenant(s) in {dedicated} of {plan.capacity} slots ({blocks})"
    pools = len(spec.node_pools)
    per_pool = ", ".join(f"`{p.name}`: {pooled[p.name]}" for p in spec.node_pools)
    return (f"{n} tenant(s): {dedicated} dedicated and {pools} node pool(s) in {dedicated + pools} of {plan.capacity} "
            f"slots ({blocks}), {sum(pooled.values())} pooled on the {pools} pool(s) ({per_pool})")


def report(result: RenderResult, manifests: dict[str, list[dict[str, Any]]] | None = None) -> str:
    s = result.spec
    plan = s.address_plan
    owner = owners(result.resources)
    counts = Counter(owner.values())
    facts = facts_of(result.resources)
    lines = [
        f"# Render of `{result.project}` / `{result.stack}`",
        "",
        f"Platform `{s.name}`: VPC {s.vpc_cidr} over {s.availability_zones} zones, Kubernetes {s.kubernetes_version}, "
        f"{tenants_line(s)}, {len(result.resources)} resources"
        + (f" ({counts[PROGRAM_OWNER]} of them your program's own)" if counts[PROGRAM_OWNER] else "") + ".",
        "",
        "## Platform subnets",
        "",
        f"- public: {', '.join(map(str, plan.public_subnets()))}",
        f"- system: {', '.join(map(str, plan.system_subnets()))}",
        "",
        "## Tenants",
        "",
        "| tenant | tier | slot (or pool) | address block | subnets | nodes (min/desired/max) "
        "| quota (cpu, memory, pods) | reachable from | service accounts | resources |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in sorted(s.tenants, key=lambda t: t.name):
        n = t.nodes if t.nodes is not None else s.node_pool(t.pool or "").nodes
        where = f"pool `{t.pool}`" if t.pool is not None else str(t.slot)
        nodes = f"{', '.join(n.instance_types)} {n.min_size}/{n.desired_size}/{n.max_size}"
        lines.append(
            f"| `{t.name}` | {t.tier} | {where} | {plan.tenant_block(s.block_slot(t))} | "
            f"{', '.join(map(str, plan.tenant_subnets(s.block_slot(t))))} | "
            f"{nodes if t.pool is None else 'shared: ' + nodes} | {t.quota.cpu}, {t.quota.memory}, {t.quota.pods} | "
            f"{', '.join(sorted(map(_edge_text, t.allow_from))) or '—'} | {', '.join(t.service_accounts) or '—'} | "
            f"{counts[t.name]} |"
        )
    multi = [t for t in sorted(s.tenants, key=lambda t: t.name) if t.namespaces]
    if multi:  # several namespaces per tenant (issue 26): each gets an even share of the quota
        lines += ["", "Tenants with several namespaces (the quota above is split evenly across them):"]
        lines += [f"- `{t.name}`: " + ", ".join(
            f"`{ns}` ({q.cpu}, {q.memory}, {q.pods})" for ns, q in
            ((ns, t.namespace_quota(i)) for i, ns in enumerate(naming.tenant_namespaces(t)))) for t in multi]
    lines += ["", *pool_report_lines(s)] if s.node_pools else []
    compute = compute_report_lines(s)
    lines += ["", *compute] if compute else []
    lines += ["", *etcd_lines(s)]
    lines += ["", f"Shared platform resources: {counts[PLATFORM_OWNER]}."]
    if counts[PROGRAM_OWNER]:
        lines += ["", f"Your program's own resources (registered outside tenancy's components, not counted as the "
                      f"platform's): {counts[PROGRAM_OWNER]}."]
    tenant_names = {t.name for t in s.tenants}
    others = sorted(t for t in counts if t not in tenant_names and t not in (PLATFORM_OWNER, PROGRAM_OWNER))
    if others:
        lines += ["", "Tenants of your program's own components (not in the platform spec): "
                  + ", ".join(f"`{t}` ({counts[t]})" for t in others) + "."]
    dedicated = sum(t.pool is None for t in s.tenants)
    lines += ["", *principals.pool_lines(principals.pooled_of(facts), dedicated)] if s.node_pools else []
    lines += ["", *principals.people_lines(principals.people_of(result.resources, facts))]
    lines += ["", *principals.workload_lines(principals.workload_roles_of(result.resources, facts))]
    lines += ["", "## Settings that loosen a secure default", ""]
    weakened = _weakened(result)
    lines += [f"- {w}" for w in weakened] or ["None."]
    lines += ["", *operability.api_access_lines(s, result.resources)]
    lines += ["", *operability.report_lines(operability.evaluate(s, result.resources))]
    lines += ["", *observability_report_lines(facts)]
    lines += ["", "## Tenant graph", "",
              "Who may open connections to whom (security groups and NetworkPolicies both allow; "
              "computed from the rendered objects, `tenancy.review.facts`):", "",
              mermaid_graph(result.resources, facts)]
    mine = bool(counts[PROGRAM_OWNER])
    lines += ["", "## Resources by type", "",
              "| type | platform | per tenant (total) |" + (" your program's |" if mine else ""),
              "|---|---|---|" + ("---|" if mine else "")]
    by_type: dict[str, Counter[str]] = {}
    for r in result.resources:
        o = owner[r["urn"]]
        by_type.setdefault(r["type"], Counter())[o if o in (PLATFORM_OWNER, PROGRAM_OWNER) else "tenant"] += 1
    for typ in sorted(by_type):
        c = by_type[typ]
        lines.append(f"| `{typ}` | {c[PLATFORM_OWNER]} | {c['tenant']} |" + (f" {c[PROGRAM_OWNER]} |" if mine else ""))
    lines += ["", "## Kubernetes objects", ""]
    manifests = result.manifests if manifests is None else manifests
    for group, objs in manifests.items():
        kinds = Counter(o.get("kind") for o in objs)
        lines.append(f"- `{group}`: " + ", ".join(f"{k} × {v}" for k, v in sorted(kinds.items())))
    if not manifests:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def program_report(result: RenderResult) -> str:
    """The report of a program that built no :class:`~tenancy.Platform` (e.g. a team stack):
    what it registers, per tenant and per type, and its Kubernetes objects."""
    counts = Counter(r["tenant"] for r in result.resources)
    lines = [f"# Render of `{result.project}` / `{result.stack}`", "",
             f"{len(result.resources)} resources; no tenancy Platform in this program.", "", "## Tenants", ""]
    tenants = sorted(t for t in counts if t is not None)
    lines += [f"- `{t}`: {counts[t]} resources" for t in tenants] or ["None."]
    lines += ["", f"Other resources: {counts[None]}.", "", "## Resources by type", "", "| type | count |", "|---|---|"]
    for typ, n in sorted(Counter(r["type"] for r in result.resources).items()):
        lines.append(f"| `{typ}` | {n} |")
    lines += ["", "## Kubernetes objects", ""]
    for group, objs in result.manifests.items():
        kinds = Counter(o.get("kind") for o in objs)
        lines.append(f"- `{group}`: " + ", ".join(f"{k} × {v}" for k, v in sorted(kinds.items())))
    if not result.manifests:
        lines.append("None.")
    return "\n".join(lines) + "\n"
