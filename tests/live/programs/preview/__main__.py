"""A pooled tenant's bundle and the placement policy, with the SecurityGroupPolicy's groups derived
from a resource created in the same update (a ConfigMap's uid), so a preview of a new stack sees
them unknown — as a real preview of a new pooled tenant does (its security group is created in the
same update). ``knownGroups`` true: the same groups as plain values; ``placement`` false: no
placement policy (a fault every preview can see: ``tenant-placement-enforced``).

Config: tenancy:platform, preview-unknowns:kubeconfig, preview-unknowns:knownGroups,
preview-unknowns:placement (default true).
"""

import pulumi
import pulumi_kubernetes as k8s

from tenancy.components.bundle import TenantBundle, TenantBundleArgs
from tenancy.components.cluster import (
    DisruptionBudgetPolicy,
    DisruptionBudgetPolicyArgs,
    PlacementPolicy,
    PlacementPolicyArgs,
)
from tenancy.plan.validate import load_platform

GROUPS = ["sg-0123456789abcdef0", "sg-0fedcba9876543210"]

config = pulumi.Config()
spec = load_platform(pulumi.Config("tenancy").require_object("platform"))
provider = k8s.Provider("cluster", kubeconfig=config.require("kubeconfig"))
# With placement, the platform's other admission policy for pooled tenants too (as tenancy.Platform
# registers it): the disruption-budget policy (issue 23; tenancy check's pool-disruption-budgets).
placement = ([PlacementPolicy(f"{spec.name}-placement", PlacementPolicyArgs(provider=provider)),
              DisruptionBudgetPolicy(f"{spec.name}-disruption-budgets", DisruptionBudgetPolicyArgs(provider=provider))]
             if config.get_bool("placement") is not False else [])
marker = k8s.core.v1.ConfigMap("group-source", metadata={"namespace": "default"}, data={"groups": ",".join(GROUPS)},
                               opts=pulumi.ResourceOptions(provider=provider))
groups = GROUPS if config.get_bool("knownGroups") else marker.metadata.uid.apply(lambda _: GROUPS)
for t in spec.tenants:
    TenantBundle(t.name, TenantBundleArgs(
        tenant=t, vpc_cidr=spec.vpc_cidr, workloads=spec.workloads, provider=provider,
        pod_security_group_ids=groups if t.pool else None, wait_for=placement))
