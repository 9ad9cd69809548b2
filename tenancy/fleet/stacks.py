"""The cells' stack files (``DIR/Pulumi.<cell>.yaml``): what they hold today, what the plan
writes, and the placement report.

A cell's stack file is an ordinary Pulumi stack file, so ``pulumi up -s <cell>`` and
``tenancy render --stack <cell>`` work on it directly. The plan owns four config keys:

* ``aws:region`` — the cell's region;
* ``aws:allowedAccountIds`` — the cell's account, when it names one (the AWS provider then
  refuses credentials of another account before changing anything);
* ``tenancy:fleet`` — ``{name, cell, removedTenants}``: which fleet and cell the stack belongs
  to, and the slots of tenants that left (never handed out again);
* ``tenancy:platform`` — the complete platform spec, tenants with their slots.

Every other key of the file (``secretsprovider``, ``encryptionsalt``, other config, secrets) is
kept as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tenancy.fleet.placement import Existing, Placement, PoolUse
from tenancy.fleet.spec import DEFAULT_ACCOUNT, FleetSpec, load_fleet
from tenancy.plan.region import QUOTAS
from tenancy.spec import Problem, SpecError
from tenancy.spec.stackfile import read_yaml

OWNED_KEYS = ("aws:region", "aws:allowedAccountIds", "tenancy:fleet", "tenancy:platform")


def read_fleet(path: Path) -> FleetSpec:
    # The stack files' reader: duplicate keys refused, and only true/false are booleans (a
    # tenant's `internetEgress: yes` is refused here as it would be in a stack file).
    return load_fleet(read_yaml(Path(path)))


def stack_path(stacks_dir: Path, cell: str) -> Path:
    return Path(stacks_dir) / f"Pulumi.{cell}.yaml"


def _load(path: Path) -> dict[str, Any]:
    doc = read_yaml(path)
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
        raise SpecError([Problem(str(path), "is not a Pulumi stack file (a mapping with a `config:` mapping)")])
    return doc


def read_existing(fleet: FleetSpec, stacks_dir: Path) -> dict[str, Existing]:
    """What the stack files in ``stacks_dir`` say about each cell. Raises :class:`SpecError`
    for a stack file of another fleet under a cell's name, or a cell that left the fleet while
    its stack file still holds tenants (removing a cell is never implicit)."""
    problems: list[Problem] = []
    out: dict[str, Existing] = {}
    cells = {c.name for c in fleet.cells}
    stacks_dir = Path(stacks_dir)
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")) if stacks_dir.is_dir() else []:
        cell = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        doc = _load(path)
        config = doc.get("config") or {}
        owner = config.get("tenancy:fleet") if isinstance(config.get("tenancy:fleet"), Mapping) else None
        if cell not in cells:
            if owner is not None and owner.get("name") == fleet.name:
                tenants = _tenant_slots(config)
                if tenants:
                    problems.append(Problem(f"cells ({cell})", (
                        f"cell {cell!r} is no longer in the fleet, but {path} still holds tenants "
                        f"{', '.join(sorted(tenants))}; removing a cell (or moving its tenants) is never implicit: "
                        "put the cell back, or off-board its tenants first, destroy the stack and delete the file")))
            continue
        if owner is not None and owner.get("name") not in (None, fleet.name):
            problems.append(Problem(f"cells ({cell})", (
                f"{path} belongs to fleet {owner.get('name')!r}, not {fleet.name!r}; use another --stacks-dir "
                "or rename the cell")))
            continue
        removed = owner.get("removedTenants") if owner is not None else None
        platform: Mapping[str, Any] = config["tenancy:platform"] \
            if isinstance(config.get("tenancy:platform"), Mapping) else {}
        out[cell] = Existing(
            offboarding=frozenset(t["name"] for t in platform.get("tenants") or []
                                  if isinstance(t, Mapping) and t.get("offboarding") is True and "name" in t),
            slots=_tenant_slots(config),
            removed={r["name"]: r["slot"] if isinstance(r.get("slot"), int) else None for r in removed or []
                     if isinstance(r, Mapping) and isinstance(r.get("name"), str)})
    if problems:
        raise SpecError(problems)
    return out


def _tenant_slots(config: Mapping[str, Any]) -> dict[str, int | None]:
    """Tenant → slot in a cell's stack file (None: a tenant on a shared node pool)."""
    platform = config.get("tenancy:platform")
    tenants = platform.get("tenants") if isinstance(platform, Mapping) else None
    return {t["name"]: t["slot"] if isinstance(t.get("slot"), int) else None for t in tenants or []
            if isinstance(t, Mapping) and isinstance(t.get("name"), str)
            and (isinstance(t.get("slot"), int) or isinstance(t.get("pool"), str))}


def _slot_order(slot: int | None, name: str) -> tuple[int, int, str]:
    """Dedicated tenants by slot, then pooled ones (no slot) by name."""
    return (0, slot, name) if slot is not None else (1, 0, name)


def cell_config(placement: Placement, cell: str) -> dict[str, Any]:
    """The config keys the plan owns, for one cell."""
    plan = placement.cells[cell]
    config: dict[str, Any] = {"aws:region": plan.region}
    if plan.account != DEFAULT_ACCOUNT:
        config["aws:allowedAccountIds"] = [plan.account]
    owner: dict[str, Any] = {"name": placement.fleet.name, "cell": cell}
    if plan.removed:
        owner["removedTenants"] = [{"name": n, **({"slot": s} if s is not None else {})}
                                   for n, s in sorted(plan.removed.items(), key=lambda x: _slot_order(x[1], x[0]))]
    config["tenancy:fleet"] = owner
    config["tenancy:platform"] = plan.platform
    return config


@dataclass
class StackChange:
    cell: str
    path: Path
    created: bool
    changed: bool


def stack_documents(placement: Placement, stacks_dir: Path) -> list[tuple[StackChange, dict[str, Any]]]:
    """The stack file each cell should have, and whether it differs from what is on disk."""
    out = []
    for cell in placement.cells:
        path = stack_path(stacks_dir, cell)
        old = _load(path) if path.exists() else None
        doc = dict(old or {})
        config = {k: v for k, v in (doc.get("config") or {}).items() if k not in OWNED_KEYS}
        doc["config"] = {**cell_config(placement, cell), **config}
        changed = old is None or _owned(old) != _owned(doc)
        out.append((StackChange(cell, path, old is None, changed), doc))
    return out


def _owned(doc: Mapping[str, Any]) -> dict[str, Any]:
    config = doc.get("config") or {}
    return {k: config.get(k) for k in OWNED_KEYS}


def write_stacks(placement: Placement, stacks_dir: Path, source: Path | None = None) -> list[StackChange]:
    """Write the changed stack files (unchanged ones are left untouched)."""
    stacks_dir = Path(stacks_dir)
    stacks_dir.mkdir(parents=True, exist_ok=True)
    changes = []
    for change, doc in stack_documents(placement, stacks_dir):
        if change.changed:
            header = (f"# Cell {change.cell} of fleet {placement.fleet.name}: written by `tenancy fleet plan`"
                      f"{f' from {source}' if source else ''}.\n"
                      f"# Edit the fleet file and plan again. The plan owns {', '.join(OWNED_KEYS)};\n"
                      "# other keys (secrets provider, other config) are kept.\n")
            change.path.write_text(header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False))
        changes.append(change)
    return changes


def stale_stacks(placement: Placement, stacks_dir: Path) -> list[str]:
    """Cells whose stack file is missing or differs from the plan."""
    return [c.cell for c, _ in stack_documents(placement, stacks_dir) if c.changed]


# --------------------------------------------------------------------------------------------


def _pool_cell(use: PoolUse | None) -> str:
    """A cell's column for one pool: its tenants and pods (their ``quota.pods``) against the pods
    with security groups its nodes hold at ``maxSize``."""
    if use is None:
        return "-"
    of = f"/{use.capacity} pods ({use.pods * 100 // use.capacity}%)" if use.capacity else " pods (capacity unknown)"
    return f"{use.tenants} tenants, {use.pods}{of}"


def placement_report(placement: Placement) -> str:
    """Markdown: cells with occupancy and pool use (one column per pool name), accounts, per-Region
    quotas (used / left for the fleet), and where every tenant is."""
    fleet = placement.fleet
    uses = {c.name: c.pools for c in placement.cells.values()}
    pools = list(dict.fromkeys(name for use in uses.values() for name in use))
    lines = [f"# Fleet {fleet.name}: placement", "",
             "| cell | region | account | tenants | node groups | slots | subnets | room for | "
             + "".join(f"pool {p} | " for p in pools) + "added | removed |",
             "|---|---|---|---|---|---|---|---|" + "---|" * len(pools) + "---|---|"]
    for c in placement.cells.values():
        o = c.occupancy
        lines.append(
            f"| {c.name} | {c.region} | {c.account} | {o.tenants} | {o.node_groups}/{o.node_group_quota} "
            f"| {o.slots}/{o.slot_capacity} | {o.subnets}/{o.subnet_quota} | {o.free_tenants} more "
            f"({o.tightest}) | " + "".join(f"{_pool_cell(uses[c.name].get(p))} | " for p in pools)
            + f"{', '.join(c.added) or '-'} | {', '.join(c.newly_removed) or '-'} |")
    lines += ["", "| account | cells | IAM roles | OIDC providers |", "|---|---|---|---|"]
    for a in placement.accounts.values():
        lines.append(f"| {a.account} | {', '.join(a.cells)} | {a.iam_roles}/{a.iam_role_limit} "
                     f"| {a.oidc_providers}/{a.oidc_provider_limit} |")
    if placement.regions:
        lines += ["", "| account | region | cells | Elastic IPs | VPCs | internet gateways | security groups "
                      "| network interfaces |", "|---|---|---|---|---|---|---|---|"]
        for r in placement.regions.values():
            cols = " | ".join(f"{r.usage.get(k)}/{r.limits[k]}" for k in QUOTAS)
            lines.append(f"| {r.account} | {r.region} | {', '.join(r.cells)} | {cols} |")
    lines += ["", "| tenant | cell | slot | pinned | status |", "|---|---|---|---|---|"]
    for t in fleet.tenants:
        cell = placement.cell_of(t.name)
        plan = placement.cells[cell]
        status = "new" if t.name in plan.added else "kept"
        slot = plan.tenants[t.name]
        where = str(slot) if slot is not None else f"pool {plan.spec.tenant(t.name).pool}"
        lines.append(f"| {t.name} | {cell} | {where} | {'yes' if t.cell else ''} | {status} |")
    return "\n".join(lines) + "\n"
