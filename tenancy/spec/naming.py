"""Names and tags: pure functions of (platform, tenant, role), never of a list position.

Every AWS name the platform derives is built here, so the spec can check the limits before any
resource exists and the components cannot drift from the checks.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tenancy.spec.wire import MANAGED_BY_LABEL as MANAGED_BY_LABEL  # re-exported: the 0.2 names
from tenancy.spec.wire import PLATFORM_TAG, TENANT_LABEL
from tenancy.spec.wire import SERVICE_ACCOUNT_TAG as SERVICE_ACCOUNT_TAG  # re-exported (0.2 name)

MANAGED_BY = "tenancy"

IAM_ROLE_NAME_MAX = 64
EKS_NODEGROUP_NAME_MAX = 63
EKS_CLUSTER_NAME_MAX = 100
K8S_LABEL_MAX = 63
PLATFORM_NAME_MAX = 24
"""Platform names prefix S3 buckets, KMS aliases, log groups and IAM roles; 24 leaves room."""


RESERVED_TENANT_NAMES = frozenset({"default", "system", "tenant", "public", "platform", "control-plane"})
"""Names a tenant can't take: Kubernetes' own namespace (`default`) and the role words of the
platform's shared resources (`<platform>-system-nodes` is the system nodes' security group)."""
RESERVED_TENANT_PREFIXES = ("kube-", "istio-", "amazon-", "aws-")
"""Namespace prefixes Kubernetes, EKS add-ons and meshes use for their own namespaces."""


def reserved_name_problem(tenant: str) -> str | None:
    """Why ``tenant`` can't be a tenant name, or None."""
    if tenant in RESERVED_TENANT_NAMES:
        return (f"{tenant!r} is reserved (it names a Kubernetes namespace or a platform-wide resource); "
                "choose another tenant name")
    prefix = next((p for p in RESERVED_TENANT_PREFIXES if tenant.startswith(p)), None)
    if prefix is not None:
        return f"names starting with {prefix!r} are reserved for system namespaces; choose another tenant name"
    return None


def cluster_name(platform: str) -> str:
    return platform


def node_group_name(platform: str, tenant: str) -> str:
    return f"{platform}-{tenant}"


EKS_NODEGROUP_NAME_PREFIX_MAX = EKS_NODEGROUP_NAME_MAX - 26
"""terraform-provider-aws appends a 26-character unique suffix to ``node_group_name_prefix``
(``internal/service/eks/node_group.go``: ``StringLenBetween(0, 63-id.UniqueIDSuffixLength)``)."""


def node_group_name_prefix(name: str) -> str:
    """The ``node_group_name_prefix`` for a node group otherwise called ``name``: ``name-``, cut
    to fit the provider's 37 characters with 8 hex digits of a hash of ``name`` when too long.

    A prefix, not a fixed name: with a fixed ``nodeGroupName`` pulumi-terraform-bridge turns
    every replacement (a ForceNew input such as instance types, AMI type, capacity type,
    subnets or node role) into delete-before-replace (``nameRequiresDeleteBeforeReplace``,
    ``pkg/tfbridge/schema.go``), taking the group's nodes away before the new group exists.
    With a prefix the new group (new unique suffix) is created first and the old one deleted
    after, so pods move over as the old nodes drain.
    """
    full = f"{name}-"
    if len(full) <= EKS_NODEGROUP_NAME_PREFIX_MAX:
        return full
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: EKS_NODEGROUP_NAME_PREFIX_MAX - 10].rstrip('-_')}-{digest}-"


def node_role_name(platform: str, tenant: str) -> str:
    return f"{platform}-{tenant}-node"


POOL_NAME_PREFIX = "pool-"
"""AWS names of a shared node pool's resources are ``<platform>-pool-<pool>...``: the ``pool-``
word keeps them apart from tenants' ``<platform>-<tenant>...`` names (the spec refuses a tenant
named ``pool-<an existing pool>``)."""


RESERVED_POOL_NAMES = frozenset({"system"})
"""Pool names taken by the platform: the system node group's nodes are labelled
``tenancy/pool=system`` (:data:`tenancy.plan.cluster.SYSTEM_LABELS`)."""


def pool_resource_name(platform: str, pool: str) -> str:
    """The base of a node pool's AWS names (node group prefix, security group, launch template):
    ``<platform>-pool-<pool>``."""
    return f"{platform}-{POOL_NAME_PREFIX}{pool}"


def pool_node_group_name(platform: str, pool: str) -> str:
    return pool_resource_name(platform, pool)


def pool_node_role_name(platform: str, pool: str) -> str:
    return f"{pool_resource_name(platform, pool)}-node"


def pool_name_problems(platform: str, pool: str) -> list[str]:
    """Every derived AWS name of a node pool that would break a limit."""
    out: list[str] = []
    for what, name, limit in (
        ("EKS node group name", pool_node_group_name(platform, pool), EKS_NODEGROUP_NAME_MAX),
        ("IAM node role name", pool_node_role_name(platform, pool), IAM_ROLE_NAME_MAX),
    ):
        if len(name) > limit:
            out.append(f"the {what} {name!r} is {len(name)} characters, over AWS's {limit}; shorten the "
                       f"pool name (or the platform name) by {len(name) - limit}")
    return out


def service_account_role_name(platform: str, tenant: str, service_account: str) -> str:
    """The IAM role of a tenant's service account: ``<platform>.<tenant>.<service account>``.

    Dots, not dashes, separate the parts: platform, tenant and service account names are
    DNS-1123 labels, which may contain ``-`` but never ``.``, so tenant ``team-a`` with account
    ``x`` and tenant ``team`` with account ``a-x`` cannot both become ``acme-team-a-x``. IAM
    accepts ``.`` in role names.
    """
    return f"{platform}.{tenant}.{service_account}"


S3_TENANTS_ROOT = "tenants/"
"""Every tenant's data in the shared bucket lives under ``tenants/<tenant>/``."""
S3_BUCKET_PREFIX_MAX = 37
"""Longest ``bucket_prefix`` S3 (through the provider) accepts: 63 minus a 26-character suffix."""
S3_ACCESS_POINT_NAME_MAX = 50


def tenant_s3_prefix(tenant: str) -> str:
    """The key prefix of a tenant's data in the shared bucket: ``tenants/<tenant>/``.

    The trailing ``/`` matters: without it tenant ``a`` would match tenant ``ab``'s keys.
    Tenant names are DNS labels, so they contain no ``*``, ``?`` or ``/`` that a policy
    pattern could misread.
    """
    return f"{S3_TENANTS_ROOT}{tenant}/"


def data_bucket_prefix(platform: str) -> str:
    """Name prefix of the shared tenant-data bucket; the provider appends a unique suffix
    (S3 bucket names are global across all AWS accounts)."""
    return f"{platform}-tenant-data-"


def access_log_bucket_prefix(platform: str) -> str:
    """Name prefix of the bucket receiving the tenant-data bucket's server access logs."""
    return f"{platform}-access-logs-"


def data_key_alias(platform: str) -> str:
    """KMS alias of the key encrypting the tenant-data bucket."""
    return f"alias/tenancy/{platform}/tenant-data"


def access_point_name(platform: str, tenant: str) -> str:
    """Name of a tenant's S3 Access Point (3..50 characters, unique per account and Region).

    ``<platform>-<tenant>`` cut to fit, plus 8 hex digits of a hash of (platform, tenant): the
    hash keeps names unique when the readable part is cut or ambiguous (``a-b``/``c`` vs
    ``a``/``b-c``).
    """
    digest = hashlib.sha256(f"{platform}/{tenant}".encode()).hexdigest()[:8]
    readable = f"{platform}-{tenant}"[: S3_ACCESS_POINT_NAME_MAX - 9].rstrip("-")
    return f"{readable}-{digest}"


def namespace(tenant: str) -> str:
    """A tenant's first (main) Kubernetes namespace is the tenant's name."""
    return tenant


def tenant_namespaces(tenant: Any) -> list[str]:
    """Every namespace of ``tenant`` (a :class:`~tenancy.spec.TenantSpec`, or anything with
    ``name`` and ``namespaces``), main one first: its name, then its extra ``namespaces`` in spec
    order. Everything that iterates a tenant's namespaces goes through this one helper."""
    return [namespace(tenant.name), *getattr(tenant, "namespaces", ())]


def tenant_group(tenant: str, persona: str) -> str:
    """The Kubernetes group the cluster's access entries map a tenant's principals to."""
    return f"tenancy:{tenant}:{persona}"


def derived_name_problems(platform: str, tenant: str, service_accounts: list[str]) -> list[tuple[str, str]]:
    """Every derived AWS name that would break a limit, as ``(relative field, message)``."""
    out: list[tuple[str, str]] = []
    for what, name, limit in (
        ("EKS node group name", node_group_name(platform, tenant), EKS_NODEGROUP_NAME_MAX),
        ("IAM node role name", node_role_name(platform, tenant), IAM_ROLE_NAME_MAX),
    ):
        if len(name) > limit:
            out.append(("name", f"the {what} {name!r} is {len(name)} characters, over AWS's {limit}; "
                                f"shorten the tenant name (or the platform name) by {len(name) - limit}"))
    for i, sa in enumerate(service_accounts):
        name = service_account_role_name(platform, tenant, sa)
        if len(name) > IAM_ROLE_NAME_MAX:
            out.append((f"serviceAccounts[{i}]",
                        f"the IAM role name {name!r} is {len(name)} characters, over AWS's "
                        f"{IAM_ROLE_NAME_MAX}; shorten the service account, tenant or platform name "
                        f"by {len(name) - IAM_ROLE_NAME_MAX}"))
    return out


def tags(platform: str, tenant: str | None = None, **extra: str) -> dict[str, str]:
    """AWS tags for a resource: the platform, and the owning tenant when there is one."""
    out = {PLATFORM_TAG: platform, MANAGED_BY_LABEL: MANAGED_BY}
    if tenant is not None:
        out[TENANT_LABEL] = tenant
    out.update(extra)
    return out
