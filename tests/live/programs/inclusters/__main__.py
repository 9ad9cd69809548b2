"""The platform's in-cluster layer only: the placement admission policy and every tenant's bundle
(with the ``allowFrom`` edges), exactly as :class:`tenancy.Platform` wires them, but with a
Kubernetes provider built from a kubeconfig instead of the EKS cluster's.

Config:
    tenancy:platform     the platform object (as in stacks/), validated by tenancy.load_platform
    inclusters:kubeconfig  path to (or contents of) the target cluster's kubeconfig
    inclusters:bundles     "false": the placement policy only, as ``tenancy:inCluster: tenant-stacks``
                           leaves the AWS Platform (the switch to tenant stacks, docs/scaling.md)
"""

import pulumi
import pulumi_kubernetes as k8s

from tenancy.components.bundle import TenantBundle, TenantBundleArgs
from tenancy.components.cluster import PlacementPolicy, PlacementPolicyArgs
from tenancy.components.walls import ClusterWalls, ClusterWallsArgs
from tenancy.plan import cluster_policies
from tenancy.plan.validate import load_platform

spec = load_platform(pulumi.Config("tenancy").require_object("platform"))
provider = k8s.Provider("cluster", kubeconfig=pulumi.Config().require("kubeconfig"))
placement = PlacementPolicy(f"{spec.name}-placement", PlacementPolicyArgs(provider=provider))
walls = cluster_policies.enabled(spec)  # the Baseline default deny and each tenant's Admin wall (issue 26)
if walls:
    ClusterWalls(f"{spec.name}-walls", ClusterWallsArgs(
        provider=provider, network_policy_guard=any(t.self_service.network_policies for t in spec.tenants)))
bundles = {
    t.name: TenantBundle(t.name, TenantBundleArgs(
        tenant=t, vpc_cidr=spec.vpc_cidr, workloads=spec.workloads, provider=provider,
        pod_identity_agent=spec.identity.mode != "irsa", wait_for=[placement], cluster_network_policies=walls))
    for t in spec.tenants if pulumi.Config().get_bool("bundles") is not False
}
# Each bundle registers its spec's allowFrom edges itself (owned by the tenant that allows, as in
# tenancy.Platform), once the peer's bundle exists in the program.
pulumi.export("namespaces", {name: b.namespace_name for name, b in bundles.items()})
