"""Placement: which cell (and which address slot) each tenant of a fleet lives in. Pure logic.

The rules, in order (AWS's cell-based architecture guidance: a mapping table with overrides,
placing a tenant is a control-plane task with capacity checked first):

1. **Stable.** A tenant already in a cell's stack file keeps that cell and slot. Nothing else
   moves it: a pin or a slot in the fleet file that disagrees is refused, never applied.
2. **Removed tenants keep their slot.** A tenant that left the fleet leaves its cell's tenants,
   but its slot is remembered and never handed out again (its subnets may still exist), as are
   the slots of the platform's ``retiredTenants``.
3. **Linked tenants together.** ``allowFrom`` edges cannot cross clusters, so each connected
   group of tenants is placed as one; a group whose placed members already sit in two cells is
   refused.
4. **Pins first**, then the other new groups, largest first, each into the cell with the most
   free room among the cells where it *fits*. Room is what the group uses: a group with dedicated
   tenants goes by the tightest of node groups, address slots and subnets (then by its pools);
   a group of pooled tenants only, which takes none of those, goes by its pools: the cell whose
   pools would be the least full (share of their branch network interfaces, the capacity the
   pool preflight checks) after adding the group's ``quota.pods``. A cell fits when
   :func:`tenancy.spec.load_platform` accepts the cell with the group added — so every quota and
   check the platform spec enforces applies, including ones added later — and when the cell's
   account keeps within its IAM role and OIDC provider quotas.
5. A group that fits nowhere is refused, naming for each cell the limit it hit.

:func:`plan_placement` returns a :class:`Placement` or raises :class:`tenancy.spec.SpecError`
with every problem, each pointing into the fleet file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenancy.fleet.spec import REGION_QUOTA_KEYS, FleetSpec
from tenancy.plan.capacity import Occupancy, occupancy, platform_oidc_providers, platform_roles
from tenancy.plan.pools import pools_capacity
from tenancy.plan.region import QUOTAS, ZERO, RegionUsage, region_usage
from tenancy.plan.validate import load_platform
from tenancy.spec import PlatformSpec, Problem, SpecError, TenantSpec
from tenancy.spec.models import POOLED_DEFAULT_PODS, raw_allow_from_peer


@dataclass(frozen=True)
class Existing:
    """What a cell's stack file already holds."""

    slots: Mapping[str, int | None] = field(default_factory=dict)
    """Tenant → slot, as deployed (or planned) before (None: on a shared node pool)."""
    removed: Mapping[str, int | None] = field(default_factory=dict)
    """Tenants that left the cell earlier → their slots (never reused; None: it was pooled)."""
    offboarding: frozenset[str] = frozenset()
    """Tenants marked ``offboarding: true`` in the stack file (phase one of off-boarding done)."""


def _slot_order(slot: int | None, name: str) -> tuple[int, int, str]:
    """Dedicated tenants by slot, then pooled ones (no slot) by name."""
    return (0, slot, name) if slot is not None else (1, 0, name)


def _keeps_retired_tenants() -> bool:
    """Whether the platform spec lists removed tenants itself (``retiredTenants``): then the plan
    writes each cell's removed tenants there too, so the platform's own lifecycle checks see them."""
    return "retired_tenants" in PlatformSpec.model_fields


def _two_phase_offboarding() -> bool:
    """Whether the platform spec has two-phase off-boarding (``offboarding: true`` first)."""
    return "offboarding" in TenantSpec.model_fields


@dataclass(frozen=True)
class PoolUse:
    """One node pool of a cell: its tenants and the pods their quotas admit, against the pods
    with security groups its nodes hold at ``maxSize`` (branch network interfaces, docs/pools.md)."""

    name: str
    tenants: int
    pods: int
    capacity: int | None
    """None: an instance type the branch-interface table does not know (the preflight refuses it)."""

    def share(self, more_pods: int = 0) -> float:
        """How full the pool is with ``more_pods`` more (1.0: every branch interface taken)."""
        return (self.pods + more_pods) / self.capacity if self.capacity else float("inf")


def pool_use(spec: PlatformSpec) -> dict[str, PoolUse]:
    """Every pool of ``spec``, by name."""
    out = {}
    for pc in pools_capacity(spec):
        try:
            capacity: int | None = pc.branch_capacity
        except ValueError:
            capacity = None
        out[pc.name] = PoolUse(pc.name, len(pc.tenants), pc.pods, capacity)
    return out


@dataclass
class CellPlan:
    name: str
    region: str
    account: str
    platform: dict[str, Any]
    """The complete ``tenancy:platform`` object, tenants in slot order."""
    spec: PlatformSpec
    kept: list[str]
    added: list[str]
    removed: dict[str, int | None]
    """Every tenant that ever left this cell → its slot (carried from plan to plan; None: pooled)."""
    newly_removed: list[str]
    reserved_slots: set[int]

    @property
    def occupancy(self) -> Occupancy:
        return occupancy(self.spec, self.reserved_slots)

    @property
    def tenants(self) -> dict[str, int | None]:
        """Each tenant's slot (None: on a shared node pool)."""
        return {t.name: t.slot for t in self.spec.tenants}

    @property
    def pools(self) -> dict[str, PoolUse]:
        """The cell's node pools and how full they are."""
        return pool_use(self.spec)


@dataclass
class AccountUsage:
    account: str
    cells: list[str]
    iam_roles: int
    iam_role_limit: int
    oidc_providers: int
    oidc_provider_limit: int


@dataclass
class RegionTotals:
    """What the fleet's cells in one account and Region take from its per-Region quotas."""

    account: str
    region: str
    cells: list[str]
    usage: RegionUsage
    limits: dict[str, int]
    """Quota key → what is left for the fleet (the quota less what is in use outside it)."""


@dataclass
class Placement:
    fleet: FleetSpec
    cells: dict[str, CellPlan]
    accounts: dict[str, AccountUsage]
    regions: dict[tuple[str, str], RegionTotals] = field(default_factory=dict)

    def cell_of(self, tenant: str) -> str:
        for c in self.cells.values():
            if tenant in c.tenants:
                return c.name
        raise KeyError(tenant)


_WHAT = {"elasticIps": "Elastic IP addresses (one per NAT gateway)", "vpcs": "VPCs (one per cell)",
         "internetGateways": "internet gateways (one per cell)",
         "securityGroups": "security groups (the platform's own, one per tenant, one per node pool)",
         "networkInterfaces": "network interfaces (nodes at maxSize, pool branch interfaces at capacity, NAT "
                              "gateways, interface endpoints, the control plane)"}
_FIX = {"elasticIps": "raise 'EC2-VPC Elastic IPs' in Service Quotas and set elasticIpQuota, use "
                      "network.natGateways: single in some cells, or put a cell in another Region or account",
        "vpcs": "raise 'VPCs per Region' in Service Quotas and set vpcQuota, or put a cell in another Region or "
                "account",
        "internetGateways": "raise 'Internet gateways per Region' in Service Quotas (it moves with 'VPCs per "
                            "Region') and set internetGatewayQuota, or put a cell in another Region or account",
        "securityGroups": "raise 'VPC security groups per Region' in Service Quotas and set securityGroupQuota, or "
                          "place tenants in a cell of another Region or account",
        "networkInterfaces": "raise 'Network interfaces per Region' in Service Quotas and set networkInterfaceQuota, "
                             "lower nodes.maxSize, or place tenants in a cell of another Region or account"}


# --------------------------------------------------------------------------------------------


def plan_placement(fleet: FleetSpec, existing: Mapping[str, Existing] | None = None) -> Placement:
    """Place every tenant of ``fleet``; ``existing`` is what the cells' stack files hold."""
    return _Planner(fleet, existing or {}).run()


class _Planner:
    def __init__(self, fleet: FleetSpec, existing: Mapping[str, Existing]):
        self.fleet = fleet
        self.existing = existing
        self.index = {t.name: i for i, t in enumerate(fleet.tenants)}
        self.cell_index = {c.name: i for i, c in enumerate(fleet.cells)}
        self.bodies = {t.name: t.tenant_keys() for t in fleet.tenants}
        self.pins = {t.name: t.cell for t in fleet.tenants if t.cell}
        self.problems: list[Problem] = []
        # cell → tenant → slot, and the cells' reserved slots
        self.assigned: dict[str, dict[str, int | None]] = {c.name: {} for c in fleet.cells}
        self.removed: dict[str, dict[str, int | None]] = {c.name: {} for c in fleet.cells}
        self.newly_removed: dict[str, list[str]] = {c.name: [] for c in fleet.cells}
        self.specs: dict[str, PlatformSpec] = {}
        self.pods_of: dict[str, tuple[str, int] | None] = {}
        self._region_cache: dict[str, tuple[PlatformSpec, RegionUsage]] = {}
        self.region_key = {c.name: (fleet.account_of(c), fleet.region_of(c) or "") for c in fleet.cells}
        """cell → (account, Region): the cells that share per-Region quotas."""

    # ---- helpers

    def pooled_pods(self, name: str) -> tuple[str, int] | None:
        """``(pool, quota.pods)`` of a pooled fleet tenant (the spec's defaults applied); None for a
        dedicated one."""
        if name not in self.pods_of:
            body = self.bodies[name]
            if body.get("pool") is None:
                self.pods_of[name] = None
            else:
                try:
                    t = TenantSpec.model_validate(body)
                    self.pods_of[name] = (str(t.pool), t.quota.pods)
                except ValueError:  # reported by the fleet's own checks
                    self.pods_of[name] = (str(body["pool"]), POOLED_DEFAULT_PODS)
        return self.pods_of[name]

    def pool_share(self, cell: str, group: list[str]) -> float:
        """How full the fullest pool of ``cell`` that ``group`` uses would be with the group added
        (0 for a group of dedicated tenants only; infinite when the cell lacks one of its pools)."""
        more: dict[str, int] = {}
        for n in group:
            pp = self.pooled_pods(n)
            if pp is not None:
                more[pp[0]] = more.get(pp[0], 0) + pp[1]
        if not more:
            return 0.0
        use = pool_use(self.specs[cell])
        return max(use[p].share(k) if p in use else float("inf") for p, k in more.items())

    def base(self, cell: str) -> dict[str, Any]:
        return self.fleet.platform_base(self.fleet.cell(cell))

    def reserved(self, cell: str) -> set[int]:
        """Slots no new tenant may take in ``cell``: removed and retired tenants', and the cell's
        node pools' (``nodePools``)."""
        out = {s for s in self.removed[cell].values() if s is not None}
        base = self.base(cell)
        for key in ("retiredTenants", "nodePools"):
            items = base.get(key)
            if isinstance(items, list):
                out |= {r["slot"] for r in items if isinstance(r, Mapping) and isinstance(r.get("slot"), int)}
        return out

    def platform(self, cell: str, tenants: Mapping[str, int | None]) -> dict[str, Any]:
        data = self.base(cell)
        data["tenants"] = [{**self.bodies[n], **({"slot": s} if s is not None else {})}
                           for n, s in sorted(tenants.items(), key=lambda kv: _slot_order(kv[1], kv[0]))]
        if self.removed[cell] and _keeps_retired_tenants():
            retired = list(data.get("retiredTenants") or [])
            listed = {r.get("name") for r in retired if isinstance(r, Mapping)}
            retired += [{"name": n, **({"slot": s} if s is not None else {})}
                        for n, s in sorted(self.removed[cell].items(), key=lambda kv: _slot_order(kv[1], kv[0]))
                        if n not in listed]
            data["retiredTenants"] = retired
        return data

    def where(self, cell: str, problem: Problem, data: Mapping[str, Any]) -> Problem:
        """A platform problem of ``cell``, pointed back into the fleet file."""
        ci = self.cell_index[cell]
        m = re.match(r"^tenants\[(\d+)\]", problem.path)
        if m:
            name = data["tenants"][int(m.group(1))].get("name")
            if name in self.index:
                return Problem(f"tenants[{self.index[name]}]{problem.path[m.end():]}",
                               f"{problem.message} (in cell {cell})")
        if problem.path in ("", "tenants"):
            return Problem(f"cells[{ci}] ({cell})", problem.message)
        top = re.split(r"[.\[]", problem.path, maxsplit=1)[0]
        cell_keys = self.fleet.cell(cell).platform_keys()
        if top == "name":
            return Problem(f"cells[{ci}].name", f"the platform name {data.get('name')!r}: {problem.message} "
                                                "(or set a shorter platformName)")
        if top in cell_keys or top not in self.fleet.defaults:
            return Problem(f"cells[{ci}].{problem.path}", problem.message)
        return Problem(f"defaults.{problem.path}", f"{problem.message} (in cell {cell})")

    def validate(self, cell: str, tenants: Mapping[str, int | None]) -> tuple[PlatformSpec | None, list[Problem]]:
        data = self.platform(cell, tenants)
        try:
            return load_platform(data), []
        except SpecError as exc:
            return None, [self.where(cell, p, data) for p in exc.problems]

    def account_usage(self, specs: Mapping[str, PlatformSpec]) -> dict[str, AccountUsage]:
        out: dict[str, AccountUsage] = {}
        for c in self.fleet.cells:
            if c.name not in specs:
                continue
            acct = self.fleet.account_of(c)
            q = self.fleet.quotas(acct)
            u = out.setdefault(acct, AccountUsage(acct, [], 0, q.iam_role_quota - q.iam_roles_in_use, 0,
                                                  q.oidc_provider_quota - q.oidc_providers_in_use))
            u.cells.append(c.name)
            u.iam_roles += platform_roles(specs[c.name])
            u.oidc_providers += platform_oidc_providers(specs[c.name])
        return out

    def account_problem(self, cell: str, spec: PlatformSpec) -> str | None:
        acct = self.fleet.account_of(self.fleet.cell(cell))
        usage = self.account_usage({**self.specs, cell: spec})[acct]
        label = f"account {acct}" if acct != "default" else "the default account (cells with no account)"
        if usage.iam_roles > usage.iam_role_limit:
            return (f"{label} would hold {usage.iam_roles} IAM roles of this fleet, over its quota "
                    f"({usage.iam_role_limit} left of iamRoleQuota); raise 'Roles per account' in Service "
                    "Quotas and set accounts[].iamRoleQuota, or use a cell in another account")
        if usage.oidc_providers > usage.oidc_provider_limit:
            return (f"{label} would hold {usage.oidc_providers} OIDC providers, over its quota "
                    f"({usage.oidc_provider_limit} left of oidcProviderQuota, not adjustable); put the cell "
                    "in another account")
        return None

    def cell_region_usage(self, cell: str, spec: PlatformSpec) -> RegionUsage:
        """:func:`tenancy.plan.region.region_usage`, once per cell and spec (placing a tenant
        recounts only the cell it tries)."""
        hit = self._region_cache.get(cell)
        if hit is None or hit[0] is not spec:
            hit = (spec, region_usage(spec))
            self._region_cache[cell] = hit
        return hit[1]

    def region_totals(self, specs: Mapping[str, PlatformSpec], only: tuple[str, str] | None = None
                      ) -> dict[tuple[str, str], RegionTotals]:
        """Per (account, Region): the cells there and what they take (``only``: that pair alone)."""
        out: dict[tuple[str, str], RegionTotals] = {}
        for c in self.fleet.cells:
            key = self.region_key[c.name]
            if c.name not in specs or (only is not None and key != only):
                continue
            if key not in out:
                acct, region = key
                limits = {k: default for k, (_, default) in QUOTAS.items()}
                if region:
                    q = self.fleet.quotas(acct).region(region)
                    limits = {k: quota - used for k in QUOTAS for quota, used in [q.limit(k)]}
                out[key] = RegionTotals(acct, region, [], ZERO, limits)
            t = out[key]
            t.cells.append(c.name)
            t.usage = t.usage + self.cell_region_usage(c.name, specs[c.name])
        return out

    def region_problem(self, cell: str, spec: PlatformSpec) -> str | None:
        """The first per-Region quota the cell's account and Region would exceed with ``spec``
        in ``cell``, naming the Region, the quota, the count and the fix."""
        key = self.region_key[cell]
        t = self.region_totals({**self.specs, cell: spec}, only=key)[key]
        for q, (quota_name, default) in QUOTAS.items():
            used, limit = t.usage.get(q), t.limits[q]
            if used <= limit:
                continue
            acct = f"account {t.account}" if t.account != "default" else "the default account"
            region = t.region or "(no region set)"
            return (f"Region {region} of {acct} would hold {used} {_WHAT[q]} of this fleet's cells "
                    f"({', '.join(t.cells)}), over the {limit} left of its quota '{quota_name}' (AWS default "
                    f"{default}; accounts[].regions[].{REGION_QUOTA_KEYS[q]}, less what is in use outside the "
                    f"fleet); {_FIX[q]}")
        return None

    # ---- the plan

    def run(self) -> Placement:
        self.take_existing()
        self.check_edges()
        self.check_bases()
        if self.problems:
            raise SpecError(self.problems)
        for group, target in self.groups():
            self.place(group, target)
        if self.problems:
            raise SpecError(self.problems)
        cells = {}
        for c in self.fleet.cells:
            prior = self.existing.get(c.name, Existing())
            cells[c.name] = CellPlan(
                name=c.name, region=self.fleet.region_of(c) or "", account=self.fleet.account_of(c),
                platform=self.platform(c.name, self.assigned[c.name]), spec=self.specs[c.name],
                kept=[n for n in self.assigned[c.name] if n in prior.slots],
                added=[n for n in self.assigned[c.name] if n not in prior.slots],
                removed=dict(self.removed[c.name]), newly_removed=self.newly_removed[c.name],
                reserved_slots=self.reserved(c.name))
        return Placement(self.fleet, cells, self.account_usage(self.specs), self.region_totals(self.specs))

    def take_existing(self) -> None:
        seen: dict[str, str] = {}
        for c in self.fleet.cells:
            prior = self.existing.get(c.name, Existing())
            self.removed[c.name].update(prior.removed)
            for name, slot in prior.slots.items():
                if name not in self.index:
                    self.removed[c.name][name] = slot
                    self.newly_removed[c.name].append(name)
                    if _two_phase_offboarding() and name not in prior.offboarding:
                        self.problems.append(Problem(f"cells[{self.cell_index[c.name]}] ({c.name})", (
                            f"tenant {name!r} (slot {slot}) left the fleet without being off-boarded first: put it "
                            "back with `offboarding: true`, plan and deploy, then remove it (two-phase off-boarding)")))
                    continue
                i = self.index[name]
                if name in seen:
                    self.problems.append(Problem(f"tenants[{i}]", (
                        f"{name!r} is in the stack files of both cell {seen[name]} and cell {c.name}; a tenant "
                        "lives in one cell: fix the stack files (remove it from the cell it must leave)")))
                    continue
                seen[name] = c.name
                self.assigned[c.name][name] = slot
                pin = self.pins.get(name)
                if pin is not None and pin != c.name:
                    self.problems.append(Problem(f"tenants[{i}].cell", (
                        f"{name!r} lives in cell {c.name} (slot {slot}) but is pinned to {pin}; moving a tenant "
                        "between cells is never implicit: pin it to its cell, or off-board it (remove it from "
                        "the fleet, plan, deploy) and add it again under the new pin")))
                wanted = self.bodies[name].get("slot")
                if wanted is not None and wanted != slot:
                    self.problems.append(Problem(f"tenants[{i}].slot", (
                        f"{name!r} has slot {slot} in cell {c.name}; changing a tenant's slot re-addresses "
                        f"its subnets and is never implicit: write slot {slot} or remove the key")))

    def check_edges(self) -> None:
        """An allowFrom edge between two placed tenants in different cells (added to the fleet
        file after both were placed) cannot be built: refuse it, naming both cells."""
        placed = {n: c for c, ts in self.assigned.items() for n in ts}
        for name, body in self.bodies.items():
            for j, entry in enumerate(body.get("allowFrom") or []):
                peer = raw_allow_from_peer(entry)
                if peer is not None and name in placed and peer in placed and placed[name] != placed[peer]:
                    self.problems.append(Problem(f"tenants[{self.index[name]}].allowFrom[{j}]", (
                        f"{peer!r} (placed in {placed[peer]}) and {name!r} (placed in {placed[name]}) are in "
                        "different cells, and an allowFrom edge cannot cross clusters; remove the edge (moving "
                        "a tenant between cells is never implicit)")))

    def check_bases(self) -> None:
        for c in self.fleet.cells:
            spec, problems = self.validate(c.name, self.assigned[c.name])
            self.problems.extend(problems)
            if spec is not None:
                self.specs[c.name] = spec
        if not self.problems:
            for acct, u in self.account_usage(self.specs).items():
                if u.iam_roles > u.iam_role_limit or u.oidc_providers > u.oidc_provider_limit:
                    cell = u.cells[-1]
                    msg = self.account_problem(cell, self.specs[cell])
                    self.problems.append(Problem(f"accounts ({acct})", f"{msg} (before any new tenant is placed)"))
            for (acct, region), t in self.region_totals(self.specs).items():
                msg = self.region_problem(t.cells[-1], self.specs[t.cells[-1]])
                if msg is not None:
                    self.problems.append(Problem(f"accounts ({acct}).regions ({region or 'no region'})",
                                                 f"{msg} (before any new tenant is placed)"))

    def groups(self) -> list[tuple[list[str], str | None]]:
        """Connected groups (by allowFrom, either direction) holding at least one new tenant, with
        their forced cell (a placed member's or a pin), pins and anchored groups first."""
        parent = {n: n for n in self.index}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for name, body in self.bodies.items():
            for peer in map(raw_allow_from_peer, body.get("allowFrom") or []):
                if peer in parent:
                    parent[find(peer)] = find(name)
        members: dict[str, list[str]] = {}
        for name in self.index:
            members.setdefault(find(name), []).append(name)
        placed = {n: c for c, ts in self.assigned.items() for n in ts}
        anchored: list[tuple[list[str], str | None]] = []
        free: list[tuple[list[str], str | None]] = []
        for group in members.values():
            new = [n for n in group if n not in placed]
            if not new:
                continue
            forced: dict[str, str] = {}
            for n in group:
                if n in placed:
                    forced.setdefault(placed[n], f"{n!r} (placed in {placed[n]})")
            for n in group:
                if n in self.pins and n not in placed:
                    forced.setdefault(self.pins[n], f"{n!r} (pinned to {self.pins[n]})")
            first = self.index[new[0]]
            if len(forced) > 1:
                self.problems.append(Problem(f"tenants[{first}]", (
                    f"tenants {', '.join(sorted(group))} are linked by allowFrom, which cannot cross clusters, "
                    f"but {' and '.join(forced.values())} put them in different cells; remove an allowFrom "
                    "edge or change a pin")))
                continue
            target = next(iter(forced), None)
            (anchored if target else free).append((new, target))
        free.sort(key=lambda g: (-len(g[0]), self.index[g[0][0]]))
        return anchored + free

    def place(self, group: list[str], target: str | None) -> None:
        # Adding k tenants lowers every countable limit's room by k, so the cell with the most
        # room now is the one with the most room after: try cells in that order, take the first
        # that fits. A cell with less room than the group needs cannot fit (the platform spec
        # enforces exactly these limits), so it is not validated at all: one or two validations
        # per group, whatever the fleet's size.
        # Pooled tenants take no node group, slot or subnets (they share their pool's), so a group of
        # them only goes by its pools' share, taken after adding the group: balanced by capacity.
        candidates = [target] if target else [c.name for c in self.fleet.cells]
        room = {c: occupancy(self.specs[c], self.reserved(c)) for c in candidates}
        needed = sum(1 for n in group if self.bodies[n].get("pool") is None)
        share = {c: self.pool_share(c, group) for c in candidates}
        candidates.sort(key=lambda c: ((-room[c].free_tenants if needed else 0), share[c], self.cell_index[c]))
        reasons: dict[str, list[str]] = {}  # reason → cells (cells that fail alike are named together)
        best: tuple[str, dict[str, int | None], PlatformSpec] | None = None
        for cell in candidates:
            if needed and room[cell].free_tenants < needed:
                reasons.setdefault(room[cell].no_room(needed), []).append(cell)
                continue
            tenants = self.with_slots(cell, group)
            if isinstance(tenants, str):
                reasons.setdefault(tenants, []).append(cell)
                continue
            spec, problems = self.validate(cell, tenants)
            if spec is None:
                reasons.setdefault("; ".join(f"{p.path}: {p.message}" for p in problems), []).append(cell)
                continue
            account = self.account_problem(cell, spec) or self.region_problem(cell, spec)
            if account is not None:
                reasons.setdefault(account, []).append(cell)
                continue
            best = (cell, tenants, spec)
            break
        if best is None:
            i = self.index[group[0]]
            who = f"tenant {group[0]!r}" if len(group) == 1 else \
                f"tenants {', '.join(repr(n) for n in group)} (linked by allowFrom, placed together)"
            where = f"its pinned cell {target}" if target else "any cell"
            self.problems.append(Problem(f"tenants[{i}]", (
                f"{who} cannot be placed in {where}: " + " | ".join(
                    f"{', '.join(sorted(cells, key=self.cell_index.__getitem__))}: {reason}"
                    for reason, cells in sorted(reasons.items(), key=lambda kv: min(self.cell_index[c] for c in kv[1])))
                + ". Add a cell, raise the quota named, or remove tenants")))
            return
        cell, tenants, spec = best
        self.assigned[cell] = tenants
        self.specs[cell] = spec

    def with_slots(self, cell: str, group: list[str]) -> dict[str, int | None] | str:
        tenants = dict(self.assigned[cell])
        taken = {s for s in tenants.values() if s is not None} | self.reserved(cell)
        for n in group:
            if self.bodies[n].get("pool") is not None:
                tenants[n] = None  # on a shared node pool: no slot of its own
                continue
            wanted = self.bodies[n].get("slot")
            if isinstance(wanted, int) and not isinstance(wanted, bool):
                if wanted in taken:
                    return (f"slot {wanted} asked by {n!r} is taken or reserved (by a current, removed or retired "
                            "tenant); leave the slot to the planner")
                tenants[n] = wanted
                taken.add(wanted)
        spec = self.specs[cell]
        capacity = spec.address_plan.capacity
        for n in group:
            if n in tenants:
                continue
            slot = next((s for s in range(capacity) if s not in taken), None)
            if slot is None:
                return (f"no free address slot: vpcCidr {spec.vpc_cidr} in /{spec.tenant_block_prefix} blocks has "
                        f"{capacity} slots, all used or reserved; use a larger vpcCidr or tenantBlockPrefix, "
                        "or another cell")
            tenants[n] = slot
            taken.add(slot)
        return tenants
