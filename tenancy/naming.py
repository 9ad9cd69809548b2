"""Names and tags: pure functions of (platform, tenant, role), never of a list position.

Every AWS name the platform derives is built here, so the spec can check the limits before any
resource exists and the components cannot drift from the checks.
"""

from __future__ import annotations

TENANT_LABEL = "tenancy/tenant"
"""Label (Kubernetes) and tag (AWS) naming the tenant that owns an object."""
PLATFORM_TAG = "tenancy/platform"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "tenancy"

IAM_ROLE_NAME_MAX = 64
EKS_NODEGROUP_NAME_MAX = 63
EKS_CLUSTER_NAME_MAX = 100
K8S_LABEL_MAX = 63
PLATFORM_NAME_MAX = 24
"""Platform names prefix S3 buckets, KMS aliases, log groups and IAM roles; 24 leaves room."""


def cluster_name(platform: str) -> str:
    return platform


def node_group_name(platform: str, tenant: str) -> str:
    return f"{platform}-{tenant}"


def node_role_name(platform: str, tenant: str) -> str:
    return f"{platform}-{tenant}-node"


def service_account_role_name(platform: str, tenant: str, service_account: str) -> str:
    return f"{platform}-{tenant}-{service_account}"


def namespace(tenant: str) -> str:
    """A tenant's Kubernetes namespace is the tenant's name."""
    return tenant


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
