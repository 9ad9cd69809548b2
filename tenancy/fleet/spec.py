"""The fleet file: many platforms ("cells") described once.

    fleet:
      name: acme
      defaults: {kubernetesVersion: "1.33", availabilityZones: 3}  # platform keys for every cell
      cells:
        - {name: eu-1, region: eu-west-1, account: "111122223333", vpcCidr: 10.80.0.0/16}
      tenants:
        - {name: alpha, cell: eu-1, serviceAccounts: [app]}   # a tenant spec; `cell` pins it
      accounts:                                              # optional: account-level quotas
        - id: "111122223333"
          iamRoleQuota: 1000
          iamRolesInUse: 40
          regions: [{region: eu-west-1, elasticIpQuota: 10}]  # optional: per-Region quotas
      rollout: {canary: eu-1, waves: [[eu-2, eu-3]]}         # optional: deploy order

Platform keys are *not* listed here: ``defaults`` and each cell's extra keys are deep-merged
(the cell wins) and handed to :func:`tenancy.spec.load_platform` unchanged, so every field the
platform spec has (today's and tomorrow's) works in a fleet, and is validated by the platform
spec itself. Likewise a fleet tenant is a :class:`tenancy.spec.TenantSpec` plus ``cell``, and
``slot`` is optional (the planner assigns it).

:func:`load_fleet` validates the file and raises :class:`tenancy.spec.SpecError` listing every
problem, each with its path in the fleet file (``cells[1].vpcCidr``, ``tenants[4].cell``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, ValidationError

from tenancy.spec.errors import Problem, SpecError, dedupe, problems_from_pydantic
from tenancy.spec.models import DnsLabel, PlatformName, TenantName, TenantSpec, raw_allow_from_peer

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ACCOUNT = re.compile(r"^\d{12}$")
DEFAULT_ACCOUNT = "default"
"""The account of cells that name none (they deploy wherever the credentials point)."""

FLEET_ONLY_CELL_KEYS = ("name", "region", "account", "platformName")
"""Cell keys the fleet consumes; every other key of a cell is a platform key."""
FLEET_ONLY_TENANT_KEYS = ("cell",)
FORBIDDEN_PLATFORM_KEYS = {
    "name": "the platform's name is `<fleet>-<cell>` (override it with a cell's platformName)",
    "tenants": "tenants are listed once, under fleet.tenants, and placed by `tenancy fleet plan`",
}


def _region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"{value!r} is not an AWS region name (e.g. eu-west-1)")
    return value


def _account(value: str) -> str:
    if not _ACCOUNT.match(value):
        raise ValueError(f"{value!r} is not an AWS account id: write the 12 digits, quoted (\"111122223333\")")
    return value


def _account_or_default(value: str) -> str:
    return value if value == DEFAULT_ACCOUNT else _account(value)


Region = Annotated[str, AfterValidator(_region)]
AccountId = Annotated[str, AfterValidator(_account)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class CellSpec(_Open):
    """One cell: a complete platform (one VPC, one EKS cluster) in one region and account.
    Keys other than these are platform keys (``vpcCidr``, ``network``, ...)."""

    name: DnsLabel
    """The cell's name: its Pulumi stack (``Pulumi.<name>.yaml``)."""
    region: Region | None = None
    """AWS region (written as ``aws:region``). Required here or in ``defaults``."""
    account: AccountId | None = None
    """AWS account id (written as ``aws:allowedAccountIds``, so a deploy with the wrong
    credentials fails before touching anything). Cells without one share one account."""
    platform_name: PlatformName | None = Field(None, alias="platformName")
    """The platform's name (cluster name, prefix of AWS names). Default ``<fleet>-<cell>``."""

    def platform_keys(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items()}


class FleetTenant(_Open):
    """A tenant spec (every key of ``tenants[]`` in a platform) plus an optional ``cell`` pin."""

    name: TenantName
    cell: DnsLabel | None = None
    """Pin the tenant to this cell (an override of the planner). Unpinned tenants are placed
    by free capacity."""

    def tenant_keys(self) -> dict[str, Any]:
        return {"name": self.name, **(self.model_extra or {})}


class RegionQuotaSpec(_Strict):
    """One account's per-Region VPC quotas, shared by every cell in that account and Region
    (:mod:`tenancy.plan.region`). Each ``…Quota`` is what Service Quotas grants (AWS's default
    unless raised); each ``…InUse`` what the account already holds there outside this fleet."""

    region: Region
    elastic_ip_quota: int = Field(5, ge=0, alias="elasticIpQuota")
    """'EC2-VPC Elastic IPs' (default 5): one per NAT gateway."""
    elastic_ips_in_use: int = Field(0, ge=0, alias="elasticIpsInUse")
    vpc_quota: int = Field(5, ge=0, alias="vpcQuota")
    """'VPCs per Region' (default 5): one per cell."""
    vpcs_in_use: int = Field(0, ge=0, alias="vpcsInUse")
    internet_gateway_quota: int = Field(5, ge=0, alias="internetGatewayQuota")
    """'Internet gateways per Region' (default 5): one per cell."""
    internet_gateways_in_use: int = Field(0, ge=0, alias="internetGatewaysInUse")
    security_group_quota: int = Field(2500, ge=0, alias="securityGroupQuota")
    """'VPC security groups per Region' (default 2,500)."""
    security_groups_in_use: int = Field(0, ge=0, alias="securityGroupsInUse")
    network_interface_quota: int = Field(5000, ge=0, alias="networkInterfaceQuota")
    """'Network interfaces per Region' (default 5,000)."""
    network_interfaces_in_use: int = Field(0, ge=0, alias="networkInterfacesInUse")

    def limit(self, key: str) -> tuple[int, int]:
        """(quota, in use outside the fleet) for a :data:`tenancy.plan.region.QUOTAS` key."""
        quota, used = _REGION_FIELDS[key]
        return int(getattr(self, quota)), int(getattr(self, used))


_REGION_FIELDS = {"elasticIps": ("elastic_ip_quota", "elastic_ips_in_use"),
                  "vpcs": ("vpc_quota", "vpcs_in_use"),
                  "internetGateways": ("internet_gateway_quota", "internet_gateways_in_use"),
                  "securityGroups": ("security_group_quota", "security_groups_in_use"),
                  "networkInterfaces": ("network_interface_quota", "network_interfaces_in_use")}
"""Quota key (:data:`tenancy.plan.region.QUOTAS`) → the fields holding its quota and its use."""
REGION_QUOTA_KEYS = {"elasticIps": "elasticIpQuota", "vpcs": "vpcQuota", "internetGateways": "internetGatewayQuota",
                     "securityGroups": "securityGroupQuota", "networkInterfaces": "networkInterfaceQuota"}
"""Quota key → its key in the fleet file (``accounts[].regions[]``)."""


class AccountSpec(_Strict):
    """Account-level quotas, shared by every cell deployed into the account."""

    id: Annotated[str, AfterValidator(_account_or_default)]
    """The 12-digit account id, or ``default`` for the cells that name no account."""
    iam_role_quota: StrictInt = Field(1000, ge=1, alias="iamRoleQuota")
    """IAM roles per account allowed by your IAM quota (default 1,000)."""
    iam_roles_in_use: StrictInt = Field(0, ge=0, alias="iamRolesInUse")
    """Roles in the account that the fleet does not manage (they count against the quota)."""
    oidc_provider_quota: StrictInt = Field(100, ge=1, alias="oidcProviderQuota")
    """IAM OIDC identity providers per account (default 100, not adjustable)."""
    oidc_providers_in_use: StrictInt = Field(0, ge=0, alias="oidcProvidersInUse")
    """OIDC providers in the account that the fleet does not manage."""
    regions: list[RegionQuotaSpec] = []
    """Per-Region quotas (Elastic IPs, VPCs, internet gateways, security groups, network
    interfaces) where they differ from AWS's defaults or the account holds some already. A
    Region not listed has the defaults, with nothing else in use."""

    def region(self, name: str) -> RegionQuotaSpec:
        for r in self.regions:
            if r.region == name:
                return r
        return RegionQuotaSpec(region=name)


class RolloutSpec(_Strict):
    """The order of ``tenancy fleet preview|up``."""

    canary: DnsLabel | None = None
    """The cell deployed first, alone; nothing else starts if it fails. Default: the first cell."""
    waves: list[list[DnsLabel]] = []
    """Then these waves, in order, each wave's cells in parallel (bounded by ``--parallel``).
    Cells not listed form a last wave. Default: one wave of all the other cells."""


class _Tenants(BaseModel):
    """Validates fleet tenants as the platform spec would (paths ``tenants[i].…``)."""

    tenants: list[TenantSpec]


class FleetSpec(_Strict):
    name: DnsLabel
    """The fleet's name: the default prefix of its platforms' names."""
    defaults: dict[str, Any] = {}
    """Platform keys for every cell (a cell's own keys win, merged key by key)."""
    cells: list[CellSpec] = Field(min_length=1)
    tenants: list[FleetTenant] = []
    accounts: list[AccountSpec] = []
    rollout: RolloutSpec = RolloutSpec()

    def cell(self, name: str) -> CellSpec:
        return next(c for c in self.cells if c.name == name)

    def account_of(self, cell: CellSpec) -> str:
        return cell.account or _str_or_none(self.defaults.get("account")) or DEFAULT_ACCOUNT

    def region_of(self, cell: CellSpec) -> str | None:
        return cell.region or _str_or_none(self.defaults.get("region"))

    def quotas(self, account: str) -> AccountSpec:
        for a in self.accounts:
            if a.id == account:
                return a
        return AccountSpec(id=account)

    def platform_name(self, cell: CellSpec) -> str:
        return cell.platform_name or f"{self.name}-{cell.name}"

    def platform_base(self, cell: CellSpec) -> dict[str, Any]:
        """The cell's ``tenancy:platform`` object without tenants: defaults deep-merged with
        the cell's keys, and the platform's name."""
        base = {k: v for k, v in self.defaults.items() if k not in ("region", "account")}
        merged = deep_merge(base, cell.platform_keys())
        return {"name": self.platform_name(cell), **merged}

    def rollout_waves(self) -> list[list[str]]:
        """``[[canary], wave1, wave2, ..., [the rest]]``, every cell exactly once."""
        names = [c.name for c in self.cells]
        canary = self.rollout.canary or names[0]
        waves: list[list[str]] = [[canary]]
        seen = {canary}
        for wave in self.rollout.waves:
            w = [c for c in wave if c not in seen]
            seen.update(w)
            if w:
                waves.append(w)
        rest = [c for c in names if c not in seen]
        if rest:
            waves.append(rest)
        return waves


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` wins; mappings are merged key by key, everything else (lists too) replaced."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_fleet(data: Any) -> FleetSpec:
    """Validate a fleet file's content (``{fleet: {...}}`` or the fleet object itself).

    Checks the fleet's own structure, every tenant against :class:`TenantSpec` (``slot`` may be
    left out), unique cell and tenant names, pins naming a cell, rollout cells, and keys a
    cell or ``defaults`` must not set. The platform keys are checked by the planner, per cell,
    with :func:`tenancy.spec.load_platform`."""
    if isinstance(data, Mapping) and set(data) == {"fleet"}:
        data = data["fleet"]
    if not isinstance(data, Mapping):
        raise SpecError([Problem("fleet", "the fleet file must hold a `fleet:` object (a YAML mapping)")])
    problems: list[Problem] = []
    fleet: FleetSpec | None = None
    try:
        fleet = FleetSpec.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_pydantic(exc, FleetSpec))
    problems.extend(_raw_checks(data))
    problems.extend(_semantic_checks(data))
    if problems:
        raise SpecError(dedupe(problems))
    assert fleet is not None
    return fleet




def _raw_checks(data: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    defaults = data.get("defaults")
    if isinstance(defaults, Mapping):
        for key, check in (("region", _region), ("account", _account)):
            if key in defaults:
                try:
                    check(defaults[key]) if isinstance(defaults[key], str) else check(repr(defaults[key]))
                except ValueError as exc:
                    out.append(Problem(f"defaults.{key}", str(exc)))
        for key, why in FORBIDDEN_PLATFORM_KEYS.items():
            if key in defaults:
                out.append(Problem(f"defaults.{key}", f"cannot be set for a fleet: {why}; remove it"))
    cells = data.get("cells")
    if isinstance(cells, list):
        for i, c in enumerate(cells):
            if isinstance(c, Mapping) and "tenants" in c:
                out.append(Problem(f"cells[{i}].tenants",
                                   f"cannot be set for a fleet: {FORBIDDEN_PLATFORM_KEYS['tenants']}; remove it"))
    tenants = data.get("tenants")
    if isinstance(tenants, list):
        bodies: list[Any] = []
        for t in tenants:
            if isinstance(t, Mapping):
                t = {k: v for k, v in t.items() if k not in FLEET_ONLY_TENANT_KEYS}
                if t.get("pool") is None:  # a pooled tenant has no slot (tenancy.spec.TenantSpec)
                    t.setdefault("slot", 0)
            bodies.append(t)
        try:
            _Tenants.model_validate({"tenants": bodies})
        except ValidationError as exc:
            out.extend(problems_from_pydantic(exc, _Tenants))
    return out


def _semantic_checks(data: Mapping[str, Any]) -> list[Problem]:
    """Checks across fields, on the raw data (so they are reported alongside field errors);
    malformed values are skipped here (the field validation reports them)."""
    out: list[Problem] = []

    def items(key: str) -> list[tuple[int, Mapping[str, Any]]]:
        v = data.get(key)
        return [(i, x) for i, x in enumerate(v) if isinstance(x, Mapping)] if isinstance(v, list) else []

    def text(m: Mapping[str, Any], key: str) -> str | None:
        return m[key] if isinstance(m.get(key), str) else None

    defaults = data.get("defaults") if isinstance(data.get("defaults"), Mapping) else {}
    assert isinstance(defaults, Mapping)
    fleet_name = text(data, "name")
    cells: dict[str, int] = {}
    platform_names: dict[str, int] = {}
    for i, c in items("cells"):
        name = text(c, "name")
        if name is None:
            continue
        if name in cells:
            out.append(Problem(f"cells[{i}].name", f"{name!r} is already the name of cells[{cells[name]}]; "
                                                   "cell names must be unique (each is a stack)"))
            continue
        cells[name] = i
        if "region" not in c and "region" not in defaults:
            out.append(Problem(f"cells[{i}].region", "is required (here or in defaults); add the cell's AWS region"))
        pname = text(c, "platformName") or (f"{fleet_name}-{name}" if fleet_name else None)
        if pname is not None:
            if pname in platform_names:
                out.append(Problem(f"cells[{i}].platformName", (
                    f"platform name {pname!r} is already used by cells[{platform_names[pname]}]; AWS names "
                    "derive from it, so give each cell its own")))
            platform_names.setdefault(pname, i)
    tenants: dict[str, int] = {}
    for i, t in items("tenants"):
        name = text(t, "name")
        if name is not None:
            if name in tenants:
                out.append(Problem(f"tenants[{i}].name", (
                    f"{name!r} is already the name of tenants[{tenants[name]}]; tenant names are unique "
                    "across the fleet (a tenant lives in exactly one cell)")))
            tenants.setdefault(name, i)
        cell = text(t, "cell")
        if cell is not None and cells and cell not in cells:
            out.append(Problem(f"tenants[{i}].cell", f"{cell!r} is not a cell of this fleet; "
                                                     f"use one of {', '.join(cells)}"))
        if "slot" in t and t.get("cell") is None:
            out.append(Problem(f"tenants[{i}].slot", "a slot only means something in a cell: pin the tenant "
                                                     "with `cell`, or leave the slot to the planner"))
    for i, t in items("tenants"):
        peers = t.get("allowFrom")
        for j, entry in enumerate(peers if isinstance(peers, list) else []):
            peer = raw_allow_from_peer(entry)
            if peer is not None and peer not in tenants:
                out.append(Problem(f"tenants[{i}].allowFrom[{j}]", f"{peer!r} is not a tenant of this fleet; "
                                                                    "add that tenant or remove the entry"))
    accounts: set[str] = set()
    for i, a in items("accounts"):
        aid = text(a, "id")
        if aid is not None and aid in accounts:
            out.append(Problem(f"accounts[{i}].id", f"account {aid} is listed twice; list it once"))
        if aid is not None:
            accounts.add(aid)
        regions: set[str] = set()
        raw_regions = a.get("regions")
        for k, r in enumerate(raw_regions if isinstance(raw_regions, list) else []):
            name = text(r, "region") if isinstance(r, Mapping) else None
            if name is not None and name in regions:
                out.append(Problem(f"accounts[{i}].regions[{k}].region",
                                   f"Region {name} is listed twice for account {aid}; list it once"))
            if name is not None:
                regions.add(name)
    rollout = data.get("rollout") if isinstance(data.get("rollout"), Mapping) else {}
    assert isinstance(rollout, Mapping)
    canary = text(rollout, "canary")
    seen: dict[str, str] = {}
    if canary is not None:
        if cells and canary not in cells:
            out.append(Problem("rollout.canary", f"{canary!r} is not a cell of this fleet"))
        seen[canary] = "rollout.canary"
    waves = rollout.get("waves")
    for w, wave in enumerate(waves if isinstance(waves, list) else []):
        for k, name in enumerate(wave if isinstance(wave, list) else []):
            if not isinstance(name, str):
                continue
            where = f"rollout.waves[{w}][{k}]"
            if cells and name not in cells:
                out.append(Problem(where, f"{name!r} is not a cell of this fleet"))
            elif name in seen:
                out.append(Problem(where, f"{name!r} is already deployed at {seen[name]}; list each cell once"))
            else:
                seen[name] = where
    return out
