"""Team stacks: one Pulumi stack per team for the tenant's in-cluster objects and IAM roles,
against a platform stack's outputs.

The platform stack declares the tenant with ``teamStack: true`` — its slot, nodes, subnets,
security group and people's access entries stay there, because they need the whole platform's
address plan and quotas. Everything else the tenant owns — namespace, quota, limits, RBAC, service
accounts and their IAM roles, network policies, ``allowFrom`` edges it declares — lives in the
team's stack, built by :class:`TeamTenant`, so a team's changes are deployed (and reviewed, and
rolled back) without touching the platform stack::

    import pulumi
    from tenancy.components.team import PlatformRef, TeamTenant, TeamTenantArgs

    config = pulumi.Config()
    platform = PlatformRef.from_outputs(pulumi.StackReference(config.require("platformStack")),
                                        facts=config.require_object("platformFacts"))
    team = TeamTenant("payments", TeamTenantArgs(platform=platform, tenant=config.require_object("tenant")))
    pulumi.export("namespace", team.namespace)

``platformFacts`` is the platform stack's ``teamStackFacts`` output (``pulumi stack output
teamStackFacts --json``): the platform-wide settings that shape a tenant's objects (name, VPC
CIDR, address plan, identity mode, workload settings), and ``tenantNamespaces``, the extra
namespaces of the platform's tenants that have some (an ``allowFrom`` edge admits every namespace
of its peer and writes its egress policy into each). It is plain config because a program
must know it before it registers anything; everything live (kubeconfig, OIDC provider, bucket,
S3 ranges) is read from the StackReference. Without a StackReference, pass the platform's
outputs as one config object: ``PlatformRef.from_outputs(config.require_object("platform"))``.

Checks: the tenant spec is validated like the platform's (names, quantities, lengths of derived
AWS names) before anything is registered; once the platform's outputs are known, the tenant must
be one of its tenants with ``teamStack: true`` and the same slot, every ``allowFrom`` peer
must be a tenant of the platform (a misspelt peer fails with the closest name) with the namespaces
``platformFacts`` gives it (else: refresh platformFacts), and the mirrored settings
(:data:`TEAM_MIRRORED_KEYS`) must equal the platform's copy.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import TypeAdapter, ValidationError

from tenancy.components.bundle import TenantBundle, TenantBundleArgs
from tenancy.components.identity import TenantIdentity, TenantIdentityArgs
from tenancy.plan import cluster_policies
from tenancy.plan.validate import load_platform
from tenancy.spec import PlatformSpec, Problem, SpecError, TenantSpec, naming
from tenancy.spec.models import DnsLabel, raw_allow_from_peer
from tenancy.spec.wire import TEAM_TENANT_TYPE

TYPE = TEAM_TENANT_TYPE

FACT_KEYS = ("name", "vpcCidr", "availabilityZones", "tenantBlockPrefix", "kubernetesVersion", "identity",
             "workloads", "nodePools")
"""The platform settings a team stack needs as plain values (the ``teamStackFacts`` output)."""

TENANT_NAMESPACES_FACT = "tenantNamespaces"
"""The ``teamStackFacts`` key giving the extra ``namespaces`` of every tenant that has some
(``{tenant: [namespace, …]}``; absent when no tenant has any, as in platforms before it): a team
tenant's ``allowFrom`` edge admits every namespace of its peer and writes its egress policy into
each, and must know them before it registers anything."""

TEAM_MIRRORED_KEYS = ("quota", "internetEgress", "kubernetesApiAccess", "namespaces", "selfService")
"""Tenant settings a team stack's copy must repeat exactly: the platform's ``tenants`` output carries
them for each team tenant (:func:`mirrored_settings`). The platform's capacity checks (pods per pool,
branch interfaces) count its own copy of the quota, its security groups open the internet and the API
only for its own copy of the switches, and its other tenants' edges admit and reach the team tenant's
namespaces from its own copy of ``namespaces`` (which its quota and logs also count), so a team copy
that differs would be a quota nobody checked, a NetworkPolicy opening a path the security group keeps
closed (or the reverse), or a namespace its declared peers cannot reach. ``selfService`` too: the
platform registers the admission policies that guard self-service (``tenancy-tenant-rbac``, the
NetworkPolicy guard) from its own copy, so a team copy granting self-service the platform's copy does
not would hand the tenant's admins RoleBinding (or NetworkPolicy) writes that nothing judges."""


def mirrored_settings(tenant: TenantSpec) -> dict[str, Any]:
    """:data:`TEAM_MIRRORED_KEYS` of ``tenant`` as the platform's ``tenants`` output carries them
    (camelCase; ``namespaces`` as every namespace, main one first, like that output's
    ``namespaces`` of any tenant with extra namespaces)."""
    data = tenant.model_dump(by_alias=True, mode="json")
    return {**{k: data[k] for k in TEAM_MIRRORED_KEYS}, "namespaces": naming.tenant_namespaces(tenant)}


def team_stack_facts(spec: PlatformSpec) -> dict[str, Any]:
    """The platform's ``teamStackFacts`` output: :data:`FACT_KEYS` of its spec, camelCase, and
    :data:`TENANT_NAMESPACES_FACT` when some tenant has extra namespaces."""
    data = spec.model_dump(by_alias=True, mode="json")
    extra = {t.name: list(t.namespaces) for t in spec.tenants if t.namespaces}
    return {**{k: data[k] for k in FACT_KEYS}, **({TENANT_NAMESPACES_FACT: extra} if extra else {})}


_NAMESPACES_FACT = TypeAdapter(dict[DnsLabel, list[DnsLabel]])


def peer_namespaces(facts: Mapping[str, Any], tenant: TenantSpec) -> dict[str, list[str]]:
    """Every namespace (main one first) of each ``allowFrom`` peer of ``tenant`` that has extra
    namespaces, from ``facts``' :data:`TENANT_NAMESPACES_FACT` (none without that key). Raises
    SpecError naming ``platformFacts.tenantNamespaces`` when it is not a mapping of tenant names to
    lists of namespace names, or when it gives another tenant a namespace of ``tenant``."""
    raw = facts.get(TENANT_NAMESPACES_FACT)
    if raw is None:
        return {}
    where = f"platformFacts.{TENANT_NAMESPACES_FACT}"
    try:
        extras = _NAMESPACES_FACT.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        at = "".join(f"[{p!r}]" for p in first["loc"])
        raise SpecError([Problem(f"{where}{at}", f"{first['msg']}; it maps tenant names to their extra namespaces: "
                                                 "copy it from the platform's teamStackFacts output")]) from None
    mine = set(naming.tenant_namespaces(tenant))
    clashes = [Problem("tenant.name" if ns == tenant.name else "tenant.namespaces",
                       f"{ns!r} is a namespace of tenant {other!r} on the platform ({where}); choose another name")
               for other, nss in sorted(extras.items()) if other != tenant.name for ns in nss if ns in mine]
    if clashes:
        raise SpecError(clashes)
    return {p: naming.tenant_namespaces(SimpleNamespace(name=p, namespaces=extras[p]))
            for p in tenant.peers if extras.get(p)}


REQUIRED_OUTPUTS = ("kubeconfig", "clusterName", "tenantDataBucket", "tenantDataBucketArn", "tenantDataKeyArn")
"""The platform stack's outputs a team stack cannot do without."""
IRSA_OUTPUTS = ("oidcProviderArn", "oidcIssuer")
"""…and in ``identity.mode: irsa``, the cluster's OIDC provider (its workload roles trust it)."""


def _required_output(key: str, value: Any) -> Any:
    if value is None:
        raise ValueError(f"the platform stack (StackReference) has no output {key!r}: a team stack reads the outputs "
                         "tenancy.program.main exports — export every key of Platform.outputs() (docs/library.md)")
    return value


@dataclass(frozen=True)
class PlatformRef:
    """What a team stack uses of the platform: its settings (``facts``, plain) and its live
    outputs (``Input`` values: from a StackReference or from config)."""

    facts: Mapping[str, Any]
    """The platform's ``teamStackFacts`` output (camelCase, as in the stack file)."""
    kubeconfig: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    s3_cidr_blocks: pulumi.Input[Sequence[str]] | None = None
    tenants: pulumi.Input[Mapping[str, Any]] | None = None
    """The platform's ``tenants`` output, to check the tenant and its peers. Default: unchecked."""
    platform_name: pulumi.Input[str] | None = None
    """The platform's ``platformName`` output, checked against ``facts``."""

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any] | pulumi.StackReference,
                     facts: Mapping[str, Any] | None = None) -> PlatformRef:
        """From the platform stack's outputs: a ``pulumi.StackReference`` (then ``facts`` is
        required) or a plain mapping of them (``facts`` defaults to its ``teamStackFacts``)."""
        if isinstance(outputs, pulumi.StackReference):
            ref = outputs

            if facts is None:
                raise ValueError("PlatformRef.from_outputs(StackReference) needs facts=: the platform stack's "
                                 "`teamStackFacts` output as plain config (pulumi stack output teamStackFacts --json)")
            irsa = ((facts.get("identity") or {}).get("mode") or "irsa") == "irsa"
            required = REQUIRED_OUTPUTS + (IRSA_OUTPUTS if irsa else ())

            def get(key: str) -> Any:
                if key not in required:
                    return ref.get_output(key)
                return ref.get_output(key).apply(lambda v: _required_output(key, v))
        else:
            plain = outputs

            def get(key: str) -> Any:
                return plain.get(key)

            facts = facts if facts is not None else plain.get("teamStackFacts")
            missing = [k for k in REQUIRED_OUTPUTS if not plain.get(k)]
            if facts is None:
                missing.append("teamStackFacts")
            if missing:
                raise ValueError(f"the platform outputs lack {', '.join(missing)}: pass the platform stack's outputs "
                                 "(pulumi stack output --json --show-secrets) from a platform of tenancy >= 0.2")
        assert facts is not None
        return cls(facts=dict(facts), kubeconfig=get("kubeconfig"), cluster_name=get("clusterName"),
                   bucket_name=get("tenantDataBucket"), bucket_arn=get("tenantDataBucketArn"),
                   kms_key_arn=get("tenantDataKeyArn"), oidc_provider_arn=get("oidcProviderArn"),
                   oidc_issuer=get("oidcIssuer"), s3_cidr_blocks=get("s3CidrBlocks"), tenants=get("tenants"),
                   platform_name=get("platformName"))


@dataclass(frozen=True)
class TeamTenantArgs:
    """Inputs of :class:`TeamTenant`."""

    platform: PlatformRef
    tenant: TenantSpec | Mapping[str, Any]
    """The tenant, as in the platform's ``tenants`` list (camelCase mapping or a TenantSpec):
    the same ``name`` and ``slot`` (or ``pool``); ``limits``, ``serviceAccounts`` and the rest are this
    stack's to set, but ``allowFrom`` and :data:`TEAM_MIRRORED_KEYS` (``quota``, ``internetEgress``,
    ``kubernetesApiAccess``, ``namespaces``, ``selfService``) must repeat the platform's copy (checked)."""


def team_spec(facts: Mapping[str, Any], tenant: TenantSpec | Mapping[str, Any]) -> PlatformSpec:
    """The platform spec a team stack builds against: the facts and this one tenant, validated
    (raises SpecError with every problem; ``allowFrom`` peers are checked against the platform's
    tenants later, once known)."""
    raw = tenant.model_dump(by_alias=True, mode="json") if isinstance(tenant, TenantSpec) else dict(tenant)
    unknown = sorted(set(facts) - {*FACT_KEYS, TENANT_NAMESPACES_FACT})
    if unknown:
        raise SpecError([Problem("platformFacts", f"unknown key(s) {unknown}; use the platform's teamStackFacts "
                                                  f"output ({', '.join((*FACT_KEYS, TENANT_NAMESPACES_FACT))})")])
    data = {**{k: v for k, v in facts.items() if k != TENANT_NAMESPACES_FACT}, "tenants": [raw]}
    try:
        return load_platform(data)
    except SpecError as exc:
        rest = [p for p in exc.problems if not (".allowFrom[" in p.path and "is not a tenant" in p.message)]
        if rest:
            raise SpecError(rest) from None
    entries = raw.get("allowFrom") or []
    peers = [p for p in map(raw_allow_from_peer, entries if isinstance(entries, list) else []) if p is not None]
    # Validate with the peers present as stand-ins (they are checked against the platform later).
    stand_ins = [{"name": p, "slot": 10_000 + i} for i, p in enumerate(peers)]
    spec = PlatformSpec.model_validate({**data, "tenants": [raw, *stand_ins]})
    return spec.model_copy(update={"tenants": spec.tenants[:1]})


def _num(value: Any) -> Any:
    """Stack outputs carry numbers as JSON numbers, which may arrive as floats (443.0)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _edges_text(entries: list[Any]) -> list[str]:
    """``allowFrom`` in its wire form (names, or ``{tenant, ports}``) as sorted readable edges:
    ``"b"`` (every port), ``"c: TCP 443, UDP 8000-8080"``."""
    out = []
    for e in entries:
        if not isinstance(e, Mapping) or e.get("ports") is None:
            out.append(str(raw_allow_from_peer(e) or e))
            continue
        ports = [f"{p.get('protocol', 'TCP')} {_num(p.get('port'))}"
                 + (f"-{_num(p['endPort'])}" if p.get("endPort") else "") for p in e["ports"] if isinstance(p, Mapping)]
        out.append(f"{e.get('tenant')}: {', '.join(sorted(ports))}")
    return sorted(out)


def check_against_platform(tenant: TenantSpec, tenants: Mapping[str, Any] | None, facts_name: str,
                           platform_name: str | None,
                           peer_namespaces: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Problems of a team tenant against the platform's outputs (pure). ``peer_namespaces``: what
    ``platformFacts`` gives (:func:`peer_namespaces`; a peer not listed has its name alone)."""
    out = []
    if platform_name and platform_name != facts_name:
        out.append(f"platformFacts.name is {facts_name!r} but the platform stack is {platform_name!r}; "
                   "refresh platformFacts from its teamStackFacts output")
    if tenants is None:
        return out
    mine = tenants.get(tenant.name)
    if mine is None:
        close = difflib.get_close_matches(tenant.name, list(tenants), n=1)
        out.append(f"tenant {tenant.name!r} is not a tenant of platform {facts_name!r}"
                   + (f" (did you mean {close[0]!r}?)" if close else "")
                   + "; add it to the platform's tenants with teamStack: true first")
        return out
    if not mine.get("teamStack"):
        out.append(f"tenant {tenant.name!r} is managed by the platform stack itself; set teamStack: true on it in "
                   "the platform's spec before building it from a team stack (else both stacks own its namespace)")
    if mine.get("pool") != tenant.pool:
        where = f"on node pool {mine['pool']!r}" if mine.get("pool") else "on dedicated nodes (a slot)"
        out.append(f"tenant {tenant.name!r} runs {where} on the platform, not "
                   f"{'on pool ' + repr(tenant.pool) if tenant.pool else 'on dedicated nodes'}; use the platform's "
                   "placement (`pool`, or `slot`)")
    elif mine.get("slot") is not None and int(mine["slot"]) != tenant.slot:
        out.append(f"tenant {tenant.name!r} has slot {int(mine['slot'])} on the platform, not {tenant.slot}; "
                   "use the platform's slot")
    for j, peer in enumerate(tenant.peers):
        if peer not in tenants:
            close = difflib.get_close_matches(peer, list(tenants), n=1)
            out.append(f"tenant {tenant.name!r}: allowFrom[{j}] {peer!r} is not a tenant of the platform"
                       + (f"; did you mean {close[0]!r}?" if close else ""))
            continue
        theirs_ns = _namespaces_of(peer, tenants[peer])
        facts_ns = list((peer_namespaces or {}).get(peer) or [naming.namespace(peer)])
        if sorted(theirs_ns) != sorted(facts_ns):
            out.append(f"tenant {tenant.name!r}: allowFrom[{j}] {peer!r} has namespaces {theirs_ns} on the platform, "
                       f"but platformFacts gives {facts_ns}; refresh platformFacts from teamStackFacts (pulumi stack "
                       "output teamStackFacts --json): the edge admits and reaches every namespace of its peer")
    copy = {**tenant.model_dump(by_alias=True, mode="json"), **mirrored_settings(tenant)}
    mine = {**mine, "namespaces": _namespaces_of(tenant.name, mine)}
    for key in TEAM_MIRRORED_KEYS:
        if key in mine and mine[key] != copy[key]:
            out.append(f"tenant {tenant.name!r}: {key} {copy[key]!r} differs from the platform's {mine[key]!r}; "
                       "set the same value in both stacks (the platform's copy is what its capacity checks, "
                       "security groups and other tenants' edges use)")
    theirs = mine.get("allowFrom")
    if isinstance(theirs, list) and _edges_text(theirs) != _edges_text(copy["allowFrom"]):
        out.append(f"tenant {tenant.name!r}: allowFrom {_edges_text(copy['allowFrom'])} differs from the platform's "
                   f"{_edges_text(theirs)} (which opens the security groups); change both together, ports "
                   f"included")
    return out


def _namespaces_of(tenant: str, output: Any) -> list[str]:
    """Every namespace of ``tenant`` from its entry in the platform's ``tenants`` output (which lists
    them only for tenants with extra namespaces)."""
    listed = output.get("namespaces") if isinstance(output, Mapping) else None
    return [str(n) for n in listed] if listed else [naming.namespace(tenant)]


def _pod_security_groups(tenant: str, tenants: Any) -> list[str]:
    """The pooled ``tenant``'s pod security groups from the platform's ``tenants`` output."""
    mine = tenants.get(tenant) if isinstance(tenants, Mapping) else None
    groups = mine.get("podSecurityGroupIds") if isinstance(mine, Mapping) else None
    if not groups:
        raise SpecError([Problem("tenant", (
            f"tenant {tenant!r} is on a node pool, but the platform's tenants output has no podSecurityGroupIds "
            "for it (its pods' security groups); pass the platform stack's outputs (`tenants`) from a platform "
            "of tenancy >= 0.2 that declares the tenant with its pool"))])
    return [str(g) for g in groups]


class TeamTenant(pulumi.ComponentResource):
    """A tenant's in-cluster bundle and workload roles, built from a team's own stack.

    Attributes: ``spec`` (the validated TenantSpec), ``bundle``
    (:class:`~tenancy.components.bundle.TenantBundle`), ``identity``
    (:class:`~tenancy.components.identity.TenantIdentity` or None), ``provider``, ``namespace`` (name),
    ``role_arns``.
    """

    def __init__(self, name: str, args: TeamTenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        ref = args.platform
        spec = team_spec(ref.facts, args.tenant)
        t = spec.tenants[0]
        peers = peer_namespaces(ref.facts, t)  # the peers' extra namespaces, before anything is registered
        super().__init__(TYPE, name, None, opts)
        self.spec = t
        self.namespace = t.name
        child = pulumi.ResourceOptions(parent=self)

        # Checked once the platform's outputs are known; the provider waits for the check.
        checked = pulumi.Output.all(ref.tenants, ref.platform_name).apply(
            lambda a: self._check(t, a[0], spec.name, a[1], peers))
        kubeconfig = pulumi.Output.all(ref.kubeconfig, checked).apply(lambda a: a[0])
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig,
                                     upsert_existing_objects=True if t.adopt else None, opts=child)

        irsa = spec.identity.mode == "irsa"
        self.identity: TenantIdentity | None = None
        if t.service_accounts or spec.identity.access_points:
            self.identity = TenantIdentity(f"{t.name}-identity", TenantIdentityArgs(
                platform=spec, tenant=t, bucket_name=ref.bucket_name, bucket_arn=ref.bucket_arn,
                kms_key_arn=ref.kms_key_arn, oidc_provider_arn=ref.oidc_provider_arn, oidc_issuer=ref.oidc_issuer,
                cluster_name=ref.cluster_name), opts=child)
        self.role_arns: dict[str, pulumi.Output[str]] = self.identity.role_arns if self.identity else {}

        # A pooled tenant's pods get its security groups (SecurityGroupPolicy): the platform's
        # tenants output carries them (podSecurityGroupIds), built by the platform stack.
        pod_groups = (pulumi.Output.all(ref.tenants, checked).apply(lambda a: _pod_security_groups(t.name, a[0]))
                      if t.pooled else None)
        self.bundle = TenantBundle(t.name, TenantBundleArgs(
            tenant=t, vpc_cidr=spec.vpc_cidr, workloads=spec.workloads,
            role_arns=self.role_arns if irsa else {}, provider=self.provider,
            aws_service_cidrs=[str(n) for n in spec.address_plan.system_subnets()],
            s3_cidr_blocks=ref.s3_cidr_blocks, pod_identity_agent=not irsa,
            pod_security_group_ids=pod_groups, peer_namespaces=peers,
            cluster_network_policies=cluster_policies.enabled(spec)), opts=child)
        self.register_outputs({"namespace": self.bundle.namespace_name, "roleArns": dict(self.role_arns)})

    @staticmethod
    def _check(t: TenantSpec, tenants: Any, facts_name: str, platform_name: Any,
               peers: Mapping[str, Sequence[str]]) -> bool:
        problems = check_against_platform(t, tenants if isinstance(tenants, Mapping) else None, facts_name,
                                          platform_name if isinstance(platform_name, str) else None, peers)
        if problems:
            raise SpecError([Problem("tenant", p) for p in problems])
        return True

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """What the team stack exports: its namespace and role ARNs."""
        return {"namespace": self.bundle.namespace_name, "roleArns": dict(self.role_arns)}
