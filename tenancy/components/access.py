"""One IAM principal, personas in several tenants: one EKS access entry carrying all its groups.

EKS keeps one access entry per principal and cluster, and an entry carries any number of
Kubernetes groups (``kubernetesGroups``, AWS::EKS::AccessEntry). A principal listed in one
tenant keeps its entry under that tenant (:class:`~tenancy.components.cluster.TenantAccess`); a principal
listed in several tenants (say a read-only SRE role) gets one entry owned by the platform,
:class:`SharedAccess`, with the groups ``tenancy:<tenant>:<persona>`` of every tenant that lists
it — still no EKS access policy, so the bundles' namespaced RoleBindings remain the only grant.

Moving between the two (a second tenant lists the principal, or all but one drop it) keeps the
same AWS entry: each side declares the other's name as an alias, so Pulumi updates the groups in
place instead of creating a second entry for the principal, which EKS would refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from tenancy.plan import cluster as plan
from tenancy.spec import PlatformSpec, naming

TYPE = "tenancy:access:SharedAccess"
TENANT_ACCESS = "tenancy:cluster:TenantAccess"


def shared_principals(spec: PlatformSpec) -> dict[str, list[tuple[str, str]]]:
    """Principals holding personas in more than one tenant → ``[(tenant, persona)]``, in spec
    order. Off-boarding tenants grant nothing and are left out."""
    holders: dict[str, list[tuple[str, str]]] = {}
    for t in spec.tenants:
        if t.offboarding:
            continue
        for persona in plan.PERSONAS:
            for arn in getattr(t, persona):
                holders.setdefault(arn, []).append((t.name, persona))
    return {arn: h for arn, h in holders.items() if len({t for t, _ in h}) > 1}


def entry_name(platform: str, arn: str) -> str:
    return f"{platform}-shared-access-{plan.principal_key(arn)}"


def component_name(platform: str) -> str:
    return f"{platform}-shared-access"


@dataclass(frozen=True)
class SharedAccessArgs:
    """Inputs of :class:`SharedAccess`."""

    platform: PlatformSpec
    cluster_name: pulumi.Input[str]
    tenants: Mapping[str, pulumi.Resource]
    """The platform's Tenant components by name: the parents of each principal's former entry
    (for the aliases)."""


class SharedAccess(pulumi.ComponentResource):
    """The access entries of principals with personas in several tenants (``entries`` by ARN)."""

    def __init__(self, name: str, args: SharedAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        import pulumi_aws as aws

        p = args.platform.name
        self.entries: dict[str, Any] = {}
        for arn, holders in shared_principals(args.platform).items():
            groups = sorted(naming.tenant_group(t, persona) for t, persona in holders)
            aliases = []
            for t, persona in holders:
                tenant = args.tenants.get(t)
                if tenant is not None:
                    former_parent = pulumi.create_urn(t, TENANT_ACCESS, parent=tenant)
                    aliases.append(pulumi.Alias(name=f"{t}-{persona}-{plan.principal_key(arn)}", parent=former_parent))
            self.entries[arn] = aws.eks.AccessEntry(
                entry_name(p, arn),
                cluster_name=args.cluster_name,
                principal_arn=arn,
                type="STANDARD",
                kubernetes_groups=groups,
                tags=naming.tags(p),
                opts=pulumi.ResourceOptions(parent=self, aliases=aliases),
            )
        self.register_outputs({})
