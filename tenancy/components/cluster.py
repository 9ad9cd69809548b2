"""The cluster layer: the EKS control plane, the system node group, one tainted managed node group
per tenant, EKS access entries, and the admission policy that pins tenant pods to their nodes.

Components:

* :class:`Cluster` (``tenancy:cluster:Cluster``) — pulumi-eks ``eks.Cluster`` with API
  authentication (access entries, no aws-auth ConfigMap), an OIDC provider, a private endpoint,
  every control-plane log type into a log group with a retention, secrets envelope encryption
  with a KMS key it creates (rotation on), the VPC CNI add-on with network-policy enforcement
  and an IRSA role, the kube-proxy add-on, no default node group, a system managed node group tainted
  ``CriticalAddonsOnly`` in the system subnets, the CoreDNS add-on on it, platform
  ``clusterAdmins`` access, and a Kubernetes provider for the layers above.
* :class:`TenantNodeGroup` (``tenancy:cluster:TenantNodeGroup``) — one tenant's node role, its
  access entry, launch template and managed node group.
* :class:`PoolNodeGroup` (``tenancy:cluster:PoolNodeGroup``) — one node pool's node role, access
  entry, launch template and managed node group, labelled and tainted ``tenancy/pool=<pool>``.
  With at least one pooled tenant the cluster also turns on security groups for pods (the VPC
  CNI's ``ENABLE_POD_ENI``, strict mode, TCP early demux off for probes) and gives the cluster
  role ``AmazonEKSVPCResourceController``; without, it renders exactly as before.
* :class:`TenantAccess` (``tenancy:cluster:TenantAccess``) — one tenant's human access entries.
* :class:`PlacementPolicy` (``tenancy:cluster:PlacementPolicy``) — the ValidatingAdmissionPolicy
  and its binding (see :mod:`tenancy.plan.admission`).
* :class:`DisruptionBudgetPolicy` (``tenancy:cluster:DisruptionBudgetPolicy``) — with pooled
  tenants, the PodDisruptionBudget policy of their namespaces (issue 23). Pool node groups force
  their updates (``forceUpdateVersion``), and once a tenant is pooled every node group's launch
  template sets kubelet ``maxPods`` for the trunk's lost interface (:func:`tenancy.plan.pools.max_pods`).
* :class:`TenantRbacPolicy` (``tenancy:cluster:TenantRbacPolicy``) — with a ``selfService.rbac``
  tenant, the policy keeping tenants' Roles and RoleBindings inside the tenant (issue 26).
* :class:`PlacementInjection` (``tenancy:cluster:PlacementInjection``) — on Kubernetes 1.36+, the
  MutatingAdmissionPolicy adding the placement a pod leaves out (issue 26).

Everything the render should show is created here as plain ``aws.*`` resources: pulumi-eks is a
remote component whose children (built by its plugin) are invisible under mocks, so it is given
only what must live inside it (the control plane and its OIDC provider).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi

from tenancy.components import invokes
from tenancy.components.access import entry_name
from tenancy.components.autoscaler import tag_autoscaling_group
from tenancy.components.platform_policies import PlatformNetworkPolicies, PlatformNetworkPoliciesArgs
from tenancy.plan import addons, admission
from tenancy.plan import autoscaler as aplan
from tenancy.plan import cluster as plan
from tenancy.plan import pools as pool_plan
from tenancy.spec import NodesSpec, PlatformSpec, TenantSpec, naming
from tenancy.spec.wire import EKS_COMPONENT, POOL_LABEL

__all__ = [
    "Cluster",
    "ClusterArgs",
    "DisruptionBudgetPolicy",
    "DisruptionBudgetPolicyArgs",
    "PlacementInjection",
    "PlacementInjectionArgs",
    "PlacementPolicy",
    "PlacementPolicyArgs",
    "PoolNodeGroup",
    "PoolNodeGroupArgs",
    "ServiceExposurePolicy",
    "ServiceExposurePolicyArgs",
    "TenantRbacPolicy",
    "TenantRbacPolicyArgs",
    "TenantAccess",
    "TenantAccessArgs",
    "TenantNodeGroup",
    "TenantNodeGroupArgs",
]


def _after(dependency: pulumi.Output[Any], value: Any) -> pulumi.Output[Any]:
    """``value``, as an Output that resolves only once ``dependency`` has (and carries its
    resource dependencies): for names known up front that must not be used before the resource
    that owns them exists."""
    return pulumi.Output.all(dependency, value).apply(lambda a: a[1])


def _autoscaled_in(spec: PlatformSpec) -> str | None:
    """The cluster's name when its cluster-autoscaler runs (``cluster.autoscaler``), else None."""
    return naming.cluster_name(spec.name) if aplan.enabled(spec) else None


def _partition(parent: pulumi.Resource) -> pulumi.Output[str]:
    return invokes.partition(parent)


@dataclass(frozen=True)
class _NodeGroupParts:
    role: Any
    access_entry: Any
    launch_template: Any
    node_group: Any


def _managed_node_group(
    parent: pulumi.Resource,
    prefix: str,
    *,
    cluster_name: pulumi.Input[str],
    node_group_name: str,
    role_name: str,
    launch_template_name: str,
    nodes: NodesSpec,
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
    security_group_ids: Sequence[pulumi.Input[str]],
    labels: dict[str, str],
    taints: list[dict[str, str]],
    tags: dict[str, str],
    depends_on: Sequence[pulumi.Resource],
    autoscaled_in: str | None,
    kubernetes_version: str,
    force_update_version: bool = False,
    max_pods: int | None = None,
) -> _NodeGroupParts:
    """Node role (+ managed policies), its EC2_LINUX access entry, launch template, node group
    (on the cluster's Kubernetes version: see :mod:`tenancy.plan.addons` for the upgrade order);
    with ``autoscaled_in`` (the cluster's name, when its cluster-autoscaler runs) the tags of the
    group's Auto Scaling group (:func:`tenancy.components.autoscaler.tag_autoscaling_group`)."""
    import pulumi_aws as aws

    child = pulumi.ResourceOptions(parent=parent)
    partition = _partition(parent)
    role = aws.iam.Role(
        f"{prefix}-node-role",
        name=role_name,
        description=f"EKS nodes of {node_group_name}",
        assume_role_policy=json.dumps(plan.ec2_trust_policy()),
        tags=tags,
        opts=child,
    )
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{prefix}-node-{policy}",
            role=role.name,
            policy_arn=partition.apply(functools.partial(plan.managed_policy_arn, name=policy)),
            opts=child,
        )
        for policy in plan.NODE_POLICIES
    ]
    # EKS would create this entry itself when the node group is created; creating it first
    # keeps it managed (and visible) here, and the node group waits for it.
    access_entry = aws.eks.AccessEntry(
        f"{prefix}-node-access",
        cluster_name=cluster_name,
        principal_arn=role.arn,
        type="EC2_LINUX",
        tags=tags,
        opts=child,
    )
    # pulumi-aws' TypedDict inputs, built as plain dicts by the pure plan.
    metadata_options: Any = dict(plan.METADATA_OPTIONS)
    block_devices: Any = plan.block_device_mappings(nodes.ami_type, nodes.disk_size_gib)
    tag_specifications: Any = plan.tag_specifications(tags)
    launch_template = aws.ec2.LaunchTemplate(
        f"{prefix}-nodes",
        name=launch_template_name,
        description=f"Nodes of {node_group_name}: IMDSv2 with hop limit 1, encrypted gp3, own security groups",
        update_default_version=True,
        vpc_security_group_ids=list(security_group_ids),
        metadata_options=metadata_options,
        block_device_mappings=block_devices,
        tag_specifications=tag_specifications,
        # kubelet maxPods where a trunk takes an interface (plan.pools.max_pods); else EKS's own.
        user_data=plan.max_pods_user_data(nodes.ami_type, max_pods) if max_pods is not None else None,
        tags=tags,
        opts=child,
    )
    node_group = aws.eks.NodeGroup(
        f"{prefix}-nodes",
        cluster_name=cluster_name,
        # A prefix, not a fixed name: replacements create the new group first (see
        # naming.node_group_name_prefix). The name EKS gets is the prefix plus a unique suffix.
        node_group_name_prefix=naming.node_group_name_prefix(node_group_name),
        node_role_arn=role.arn,
        # The cluster's minor: without it the group keeps the version it was created with, and
        # EKS refuses the control plane's next minor while nodes are a minor behind (EKS user
        # guide, update-cluster). The launch template names no AMI, so EKS picks the AMI.
        version=kubernetes_version,
        subnet_ids=subnet_ids,
        instance_types=list(nodes.instance_types),
        ami_type=nodes.ami_type,
        capacity_type=nodes.capacity_type,
        scaling_config={"min_size": nodes.min_size, "max_size": nodes.max_size, "desired_size": nodes.desired_size},
        update_config={"max_unavailable": 1},
        # Pools: a tenant's budget must not hold every tenant's update (docs/pools.md, "Maintenance").
        force_update_version=force_update_version or None,
        launch_template={"id": launch_template.id, "version": launch_template.latest_version.apply(str)},
        labels=labels,
        taints=cast(Any, taints),
        tags=tags,
        # With the cluster-autoscaler, desiredSize is where nodes start: afterwards the autoscaler
        # owns it, and `pulumi up` must not scale a tenant back. Without one (cluster.autoscaler:
        # none) the spec's desiredSize is what runs, so changes to it are applied.
        # minSize/maxSize stay managed either way.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*attachments, access_entry, *depends_on],
                                    ignore_changes=["scalingConfig.desiredSize"] if autoscaled_in else None),
    )
    if autoscaled_in:
        tag_autoscaling_group(parent, prefix, node_group, autoscaled_in, labels, taints)
    return _NodeGroupParts(role, access_entry, launch_template, node_group)


# --------------------------------------------------------------------------------------------
# Cluster


@dataclass(frozen=True)
class ClusterArgs:
    """Inputs of :class:`Cluster`. Network ids come from the network layer."""

    platform: PlatformSpec
    """The platform spec: ``name``, ``kubernetesVersion`` and ``cluster`` (endpoint CIDRs, log
    retention, deletion protection, cluster admins, system nodes)."""
    vpc_id: pulumi.Input[str]
    system_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets for the control-plane network interfaces and the system node group."""
    control_plane_security_group_id: pulumi.Input[str]
    """Security group attached to the control plane's network interfaces (pulumi-eks'
    ``clusterSecurityGroup``); pulumi-eks creates no security group of its own."""
    system_security_group_id: pulumi.Input[str]
    """Security group of the system nodes (their only one: the launch template sets it, so EKS
    does not add its managed cluster security group)."""


class Cluster(pulumi.ComponentResource):
    """The EKS cluster shared by every tenant. See the module docstring.

    Attributes: ``cluster_name``, ``oidc_provider_arn``, ``oidc_issuer`` (no ``https://``),
    ``kubeconfig`` (JSON string), ``provider`` (a ``pulumi_kubernetes.Provider``),
    ``cluster_security_group_id`` (the control-plane security group the network layer made and
    pulumi-eks was given — NOT the EKS-managed one), ``eks_managed_security_group_id`` (the
    cluster security group EKS creates itself), ``secrets_key_arn``, ``node_dependencies``
    (resources node groups must wait for: the VPC CNI and kube-proxy add-ons, and with Pod Identity its agent
    add-on), ``pod_identity_agent_addon``, ``eks`` (the pulumi-eks component).
    """

    cluster_name: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    secrets_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:Cluster", name, None, opts)
        self._args = args
        self._spec = args.platform
        self._cname = naming.cluster_name(self._spec.name)
        self._tags = naming.tags(self._spec.name)
        self._child = pulumi.ResourceOptions(parent=self)
        self._partition = _partition(self)
        self._account = invokes.account_id(self)
        self._region = invokes.region(self)
        self.addon_versions: dict[str, pulumi.Output[str]] = {}

        key, log_group = self._secrets_key_and_logs()
        self._control_plane(key, log_group)
        self._vpc_cni()
        self._pod_identity_agent()
        self._system_nodes()
        self._admins()
        self._outputs()

    def _n(self, role: str) -> str:
        return plan.platform_resource_name(self._spec.name, role)

    def _addon_version(self, addon: str) -> pulumi.Output[str]:
        """The add-on's build for the spec's Kubernetes version (:mod:`tenancy.plan.addons`),
        recorded for the ``addonVersions`` output."""
        self.addon_versions[addon] = invokes.addon_version(self, addon, self._spec.kubernetes_version)
        return self.addon_versions[addon]

    def _secrets_key_and_logs(self) -> tuple[Any, Any]:
        """Secrets envelope encryption (and the control-plane log group), key rotation on."""
        import pulumi_aws as aws

        n, cname, child = self._n, self._cname, self._child
        key = aws.kms.Key(
            n("cluster-key"),
            description=f"EKS cluster {cname}: Kubernetes secrets envelope encryption and control-plane logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(self._partition, self._account, self._region).apply(
                lambda a: json.dumps(plan.cluster_key_policy(a[0], a[1], a[2], cname))),
            tags=self._tags,
            opts=child,
        )
        aws.kms.Alias(n("cluster-key"), name=f"alias/{n('eks')}", target_key_id=key.key_id, opts=child)

        # Created before the cluster so that EKS writes into it (with a retention) rather than
        # creating a never-expiring group of its own.
        log_group = aws.cloudwatch.LogGroup(
            n("control-plane-logs"),
            name=plan.log_group_name(cname),
            retention_in_days=self._spec.cluster.log_retention_days,
            kms_key_id=key.arn,
            tags=self._tags,
            opts=child,
        )
        return key, log_group

    def _control_plane(self, key: Any, log_group: Any) -> None:
        """The pulumi-eks cluster on the network layer's control-plane group, its identity outputs
        and the Kubernetes provider."""
        import pulumi_aws as aws
        import pulumi_eks as eks
        import pulumi_kubernetes as k8s

        spec, cspec, args, n, cname = self._spec, self._spec.cluster, self._args, self._n, self._cname
        partition, account, region = self._partition, self._account, self._region
        control_plane_sg = aws.ec2.SecurityGroup.get(
            n("control-plane-sg"), args.control_plane_security_group_id, opts=self._child)

        public = bool(cspec.endpoint_public_access_cidrs)
        self.eks = eks.Cluster(
            n("eks"),
            name=cname,
            version=spec.kubernetes_version,
            vpc_id=args.vpc_id,
            subnet_ids=args.system_subnet_ids,
            authentication_mode=eks.AuthenticationMode.API,
            create_oidc_provider=True,
            endpoint_private_access=True,
            endpoint_public_access=public,
            public_access_cidrs=list(cspec.endpoint_public_access_cidrs) if public else None,
            enabled_cluster_log_types=list(plan.CONTROL_PLANE_LOG_TYPES),
            encryption_config_key_arn=key.arn,
            cluster_security_group=control_plane_sg,
            skip_default_security_groups=True,
            skip_default_node_group=True,
            create_instance_role=False,
            use_default_vpc_cni=True,  # the add-on is managed below, with its IRSA role
            # Pinned so NetworkPolicies can exclude it and name the API's ClusterIP (EKS's own
            # default when the spec leaves it out: nothing changes for an existing cluster).
            kubernetes_service_ip_address_range=spec.service_cidr,
            deletion_protection=cspec.deletion_protection,
            # explicit: unset, EKS (and pulumi-eks) default to EXTENDED support pricing
            upgrade_policy={"support_type": cspec.upgrade_policy},
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group], protect=cspec.deletion_protection),
        )

        self.cluster_name = _after(self.eks.cluster_security_group_id, cname)
        self.cluster_arn = pulumi.Output.all(partition, region, account, self.cluster_name).apply(
            lambda v: f"arn:{v[0]}:eks:{v[1]}:{v[2]}:cluster/{v[3]}")
        # Checked: under mocks that echo inputs back, these remote-component outputs are empty.
        self.oidc_provider_arn = invokes.present(self.eks.oidc_provider_arn, EKS_COMPONENT, "oidcProviderArn")
        self.oidc_issuer = invokes.present(self.eks.oidc_issuer, EKS_COMPONENT, "oidcIssuer").apply(
            lambda i: i.removeprefix("https://"))
        self.kubeconfig = self.eks.kubeconfig_json
        # pulumi-eks returns the group it was given (``clusterSecurityGroup``), i.e. the network
        # layer's control-plane group: ``core.clusterSecurityGroup?.id ?? …`` in cluster.ts.
        self.cluster_security_group_id = self.eks.cluster_security_group_id
        # The group EKS creates and manages itself (on the control plane's ENIs, and on nodes
        # launched without a launch template's groups — not on ours).
        self.eks_managed_security_group_id = aws.eks.get_cluster_output(
            name=self.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self)).vpc_config.cluster_security_group_id
        self.secrets_key_arn = key.arn
        self.provider = k8s.Provider(n("k8s"), kubeconfig=self.kubeconfig, opts=self._child)

    def _vpc_cni(self) -> None:
        """VPC CNI: network-policy enforcement on (NetworkPolicies are ignored without it), and
        its AWS permissions on an IRSA role for kube-system/aws-node instead of the node roles."""
        import pulumi_aws as aws

        spec, n, child, partition = self._spec, self._n, self._child, self._partition
        cni_role = aws.iam.Role(
            n("vpc-cni-role"),
            name=plan.cni_role_name(spec.name),
            description="VPC CNI (kube-system/aws-node) via IRSA",
            assume_role_policy=pulumi.Output.all(self.oidc_provider_arn, self.oidc_issuer).apply(
                lambda a: json.dumps(plan.web_identity_trust_policy(a[0], a[1], *plan.CNI_SERVICE_ACCOUNT))),
            tags=self._tags,
            opts=child,
        )
        cni_policy = aws.iam.RolePolicyAttachment(
            n("vpc-cni-policy"),
            role=cni_role.name,
            policy_arn=partition.apply(lambda q: plan.managed_policy_arn(q, plan.CNI_POLICY)),
            opts=child,
        )
        # Security groups for pods, only when a tenant is on a node pool (a platform without
        # pooled tenants renders exactly as before): the cluster role manages the branch
        # interfaces (AmazonEKSVPCResourceController), the CNI attaches trunk interfaces.
        pod_sgs = bool(spec.pooled_tenants)
        cni_depends: list[pulumi.Resource] = [cni_policy]
        self.vpc_resource_controller_policy: Any = None
        if pod_sgs:
            # pulumi-eks creates the cluster role inside its remote component: find it through
            # the cluster (describe-cluster's roleArn), as the EKS user guide does
            # (`aws eks describe-cluster --query cluster.roleArn`), and attach the policy there.
            role_name = aws.eks.get_cluster_output(
                name=self.cluster_name, opts=pulumi.InvokeOutputOptions(parent=self)).role_arn.apply(
                    lambda arn: arn.rsplit("/", 1)[-1])
            self.vpc_resource_controller_policy = aws.iam.RolePolicyAttachment(
                n("cluster-vpc-resource-controller"),
                role=role_name,
                policy_arn=partition.apply(
                    lambda q: plan.managed_policy_arn(q, plan.CLUSTER_POLICIES_FOR_POD_SECURITY_GROUPS[0])),
                opts=child,
            )
            cni_depends.append(self.vpc_resource_controller_policy)
        self.vpc_cni_addon = aws.eks.Addon(
            n("vpc-cni"),
            cluster_name=self.cluster_name,
            addon_name=addons.VPC_CNI,
            addon_version=self._addon_version(addons.VPC_CNI),
            configuration_values=json.dumps(plan.vpc_cni_configuration(
                spec.cluster.network_policy_enforcing_mode, pod_security_groups=pod_sgs)),
            service_account_role_arn=cni_role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=cni_depends),
        )
        self.node_dependencies: list[pulumi.Resource] = [self.vpc_cni_addon]
        # kube-proxy as a managed add-on too: EKS installs it self-managed at cluster creation and
        # never updates that copy, so after upgrades it would fall out of the version skew policy
        # (at most three minors older than the API server). OVERWRITE adopts the running DaemonSet.
        self.kube_proxy_addon = aws.eks.Addon(
            n("kube-proxy"),
            cluster_name=self.cluster_name,
            addon_name=addons.KUBE_PROXY,
            addon_version=self._addon_version(addons.KUBE_PROXY),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._tags,
            opts=child,
        )
        self.node_dependencies.append(self.kube_proxy_addon)

    def _pod_identity_agent(self) -> None:
        """Pod Identity needs its agent (a DaemonSet answering 169.254.170.23) on every node before
        tenant pods start: "The EKS Pod Identity Agent is required" (EKS user guide,
        manage-access/aws-access/service-accounts.adoc). Created before the node groups, which wait for it."""
        import pulumi_aws as aws

        self.pod_identity_agent_addon: Any = None
        if self._spec.identity.mode == "podIdentity":
            self.pod_identity_agent_addon = aws.eks.Addon(
                self._n("pod-identity-agent"),
                cluster_name=self.cluster_name,
                addon_name=addons.POD_IDENTITY_AGENT,
                addon_version=self._addon_version(addons.POD_IDENTITY_AGENT),
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                tags=self._tags,
                opts=self._child,
            )
            self.node_dependencies.append(self.pod_identity_agent_addon)

    def _system_nodes(self) -> None:
        """The platform namespaces' NetworkPolicies, the system node group (CoreDNS and add-ons
        only) and managed CoreDNS on it."""
        import pulumi_aws as aws

        spec, args, n, p = self._spec, self._args, self._n, self._spec.name
        # Strict mode denies every pod no policy selects: the platform's own namespaces get
        # theirs before any platform pod (CoreDNS below) starts.
        self.platform_policies = PlatformNetworkPolicies(
            n("platform-policies"), PlatformNetworkPoliciesArgs(platform=spec, provider=self.provider),
            opts=self._child)

        self.system_nodes = _managed_node_group(
            self,
            n("system"),
            cluster_name=self.cluster_name,
            node_group_name=plan.system_node_group_name(p),
            role_name=plan.system_node_role_name(p),
            launch_template_name=n("system-nodes"),
            nodes=spec.cluster.system_nodes,
            max_pods=pool_plan.node_group_max_pods(spec.cluster.system_nodes.instance_types,
                                                   trunk=bool(spec.pooled_tenants)),
            subnet_ids=args.system_subnet_ids,
            security_group_ids=[args.system_security_group_id],
            labels=dict(plan.SYSTEM_LABELS),
            taints=plan.system_node_taints(),
            tags=self._tags,
            depends_on=self.node_dependencies,
            autoscaled_in=_autoscaled_in(spec),
            kubernetes_version=spec.kubernetes_version,
        )
        # Managed CoreDNS once there are nodes it may run on (it tolerates CriticalAddonsOnly).
        self.coredns_addon = aws.eks.Addon(
            n("coredns"),
            cluster_name=self.cluster_name,
            addon_name=addons.COREDNS,
            addon_version=self._addon_version(addons.COREDNS),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.system_nodes.node_group, self.platform_policies]),
        )

    def _admins(self) -> None:
        """Platform cluster admins: cluster-wide AmazonEKSClusterAdminPolicy."""
        import pulumi_aws as aws

        for arn in self._spec.cluster.cluster_admins:
            key_name = self._n(f"admin-{plan.principal_key(arn)}")
            entry = aws.eks.AccessEntry(key_name, cluster_name=self.cluster_name, principal_arn=arn, type="STANDARD",
                                        tags=self._tags, opts=self._child)
            aws.eks.AccessPolicyAssociation(
                key_name,
                cluster_name=self.cluster_name,
                principal_arn=entry.principal_arn,
                policy_arn=self._partition.apply(lambda q: plan.access_policy_arn(q, plan.CLUSTER_ADMIN_POLICY)),
                access_scope={"type": "cluster"},
                opts=self._child,
            )

    def _outputs(self) -> None:
        self.register_outputs({
            "clusterName": self.cluster_name,
            "oidcProviderArn": self.oidc_provider_arn,
            "oidcIssuer": self.oidc_issuer,
            "clusterSecurityGroupId": self.cluster_security_group_id,
            "eksManagedSecurityGroupId": self.eks_managed_security_group_id,
            "secretsKeyArn": self.secrets_key_arn,
            "kubernetesVersion": self._spec.kubernetes_version,
            "addonVersions": self.addon_versions,
        })


# --------------------------------------------------------------------------------------------
# Per tenant


@dataclass(frozen=True)
class TenantNodeGroupArgs:
    """Inputs of :class:`TenantNodeGroup`."""

    platform: PlatformSpec
    tenant: TenantSpec
    """``nodes`` gives instance types, scaling, disk size, capacity and AMI type."""
    cluster_name: pulumi.Input[str]
    """``Cluster.cluster_name`` (resolves once the cluster exists)."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """The tenant's own subnets, and only those."""
    security_group_id: pulumi.Input[str]
    """The tenant's node security group (network layer)."""
    tenant_nodes_security_group_id: pulumi.Input[str]
    """The rule-less marker group every tenant node carries (network layer)."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the node group must wait for; pass ``Cluster.node_dependencies`` (the VPC CNI add-on,
    without which nodes never become Ready). Default: nothing."""


def _node_group_outputs(parts: _NodeGroupParts) -> dict[str, Any]:
    """What a tenant's or a pool's node group component registers as its outputs."""
    return {"nodeGroupName": parts.node_group.node_group_name, "nodeRoleArn": parts.role.arn,
            "launchTemplateId": parts.launch_template.id}


class TenantNodeGroup(pulumi.ComponentResource):
    """One tenant's managed node group: only in the tenant's subnets, labelled and tainted
    ``tenancy/tenant=<name>``, launched from a template with IMDSv2 (hop limit 1), encrypted gp3
    root volume and the tenant's security groups, with tenant tags on instances, volumes and
    network interfaces, and its own node role (+ EC2_LINUX access entry).

    Attributes: ``node_group``, ``launch_template``, ``role``, ``access_entry``.
    """

    def __init__(self, name: str, args: TenantNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:TenantNodeGroup", name, None, opts)
        p, t = args.platform.name, args.tenant.name
        assert args.tenant.nodes is not None, "a pooled tenant has no node group of its own"
        parts = _managed_node_group(
            self,
            t,
            cluster_name=args.cluster_name,
            node_group_name=naming.node_group_name(p, t),
            role_name=naming.node_role_name(p, t),
            launch_template_name=plan.launch_template_name(p, t),
            nodes=args.tenant.nodes,
            max_pods=pool_plan.node_group_max_pods(args.tenant.nodes.instance_types,
                                                   trunk=bool(args.platform.pooled_tenants)),
            subnet_ids=args.subnet_ids,
            security_group_ids=[args.security_group_id, args.tenant_nodes_security_group_id],
            labels=plan.tenant_node_labels(t),
            taints=plan.tenant_node_taints(t),
            tags=naming.tags(p, t),
            depends_on=args.depends_on,
            autoscaled_in=_autoscaled_in(args.platform),
            kubernetes_version=args.platform.kubernetes_version,
        )
        self.role, self.access_entry = parts.role, parts.access_entry
        self.launch_template, self.node_group = parts.launch_template, parts.node_group
        self.register_outputs(_node_group_outputs(parts))


@dataclass(frozen=True)
class PoolNodeGroupArgs:
    """Inputs of :class:`PoolNodeGroup`."""

    platform: PlatformSpec
    pool: str
    """The pool's name (``nodePools[].name``); its ``nodes`` come from the platform spec."""
    cluster_name: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """The pool's own subnets (``PoolNetwork.subnet_ids``), and only those."""
    security_group_id: pulumi.Input[str]
    """The pool's node security group (``PoolNetwork.security_group_id``)."""
    tenant_nodes_security_group_id: pulumi.Input[str]
    """The rule-less marker group every tenant node carries (network layer)."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Pass ``Cluster.node_dependencies`` (the VPC CNI add-on)."""


class PoolNodeGroup(pulumi.ComponentResource):
    """One node pool's managed node group, shared by the pool's tenants: only in the pool's
    subnets, labelled and tainted ``tenancy/pool=<pool>`` (only the pool's tenants' pods tolerate
    it: the placement policy), launched from a template with IMDSv2 (hop limit 1), encrypted
    gp3 and the groups ``[pool node group, marker]``; its own node role and EC2_LINUX access
    entry. AWS names ``<platform>-pool-<pool>…`` (``naming.pool_resource_name``), Pulumi names
    ``<platform>_pool-<pool>…`` (never a tenant's). Tenants' pods on it carry their
    own groups (security groups for pods), not these.

    Attributes: ``node_group``, ``launch_template``, ``role``, ``access_entry``.
    """

    def __init__(self, name: str, args: PoolNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:PoolNodeGroup", name, None, opts)
        p, pool = args.platform.name, args.pool
        spec_pool = args.platform.node_pool(pool)
        stem = plan.pool_resource_name(p, pool)
        parts = _managed_node_group(
            self,
            stem,
            cluster_name=args.cluster_name,
            node_group_name=naming.pool_node_group_name(p, pool),
            role_name=naming.pool_node_role_name(p, pool),
            launch_template_name=plan.pool_launch_template_name(p, pool),
            nodes=spec_pool.nodes,
            max_pods=pool_plan.node_group_max_pods(spec_pool.nodes.instance_types, trunk=True, branch_pods=True),
            force_update_version=True,
            subnet_ids=args.subnet_ids,
            security_group_ids=[args.security_group_id, args.tenant_nodes_security_group_id],
            labels=plan.pool_node_labels(pool),
            taints=plan.pool_node_taints(pool),
            tags={**naming.tags(p), POOL_LABEL: pool},
            depends_on=args.depends_on,
            autoscaled_in=_autoscaled_in(args.platform),
            kubernetes_version=args.platform.kubernetes_version,
        )
        self.role, self.access_entry = parts.role, parts.access_entry
        self.launch_template, self.node_group = parts.launch_template, parts.node_group
        self.register_outputs(_node_group_outputs(parts))


@dataclass(frozen=True)
class TenantAccessArgs:
    """Inputs of :class:`TenantAccess`."""

    platform: PlatformSpec
    tenant: TenantSpec
    """``admins``, ``editors`` and ``viewers``: IAM role or user ARNs."""
    cluster_name: pulumi.Input[str]
    skip_principals: frozenset[str] = frozenset()
    """Principals whose one access entry is the platform's (personas in several tenants,
    :class:`tenancy.components.access.SharedAccess`). Default none."""
    shared_access_urn: pulumi.Input[str] | None = None
    """URN of the platform's SharedAccess component: a principal's entry that moves back here
    from it keeps its AWS entry (alias). Default none."""


class TenantAccess(pulumi.ComponentResource):
    """One EKS access entry per tenant principal, mapping it to the Kubernetes group
    ``tenancy:<tenant>:<persona>`` — and NO EKS access policy: AmazonEKSAdminPolicy and
    AmazonEKSEditPolicy would let tenants write NetworkPolicies (and open their own fence), so
    the bundle's namespaced Roles are the only grant.

    Attributes: ``entries`` (``{(persona, principal_arn): aws.eks.AccessEntry}``).
    """

    def __init__(self, name: str, args: TenantAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:TenantAccess", name, None, opts)
        import pulumi_aws as aws

        p, t = args.platform.name, args.tenant.name
        tags = naming.tags(p, t)
        self.entries: dict[tuple[str, str], Any] = {}
        for persona in plan.PERSONAS:
            for arn in getattr(args.tenant, persona):
                if arn in args.skip_principals:
                    continue
                aliases = []
                if args.shared_access_urn is not None:
                    aliases.append(pulumi.Alias(name=entry_name(p, arn), parent=args.shared_access_urn))
                self.entries[(persona, arn)] = aws.eks.AccessEntry(
                    f"{t}-{persona}-{plan.principal_key(arn)}",
                    cluster_name=args.cluster_name,
                    principal_arn=arn,
                    type="STANDARD",
                    kubernetes_groups=[naming.tenant_group(t, persona)],
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self, aliases=aliases or None),
                )
        self.register_outputs({})


# --------------------------------------------------------------------------------------------
# Placement enforcement


def _policy_and_binding(parent: pulumi.Resource, name: str, provider: pulumi.ProviderResource,
                        policy: dict[str, Any], binding: dict[str, Any]) -> tuple[Any, Any]:
    """Register an admission policy and its binding (after the policy) under ``parent``."""
    from pulumi_kubernetes.admissionregistration import v1 as adm

    registered = adm.ValidatingAdmissionPolicy(
        f"{name}-policy", metadata=policy["metadata"], spec=policy["spec"],
        opts=pulumi.ResourceOptions(parent=parent, provider=provider))
    bound = adm.ValidatingAdmissionPolicyBinding(
        f"{name}-binding", metadata=binding["metadata"], spec=binding["spec"],
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[registered]))
    return registered, bound


@dataclass(frozen=True)
class PlacementPolicyArgs:
    """Inputs of :class:`PlacementPolicy`."""

    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (``Cluster.provider``)."""


class PlacementPolicy(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicy + binding pinning tenant pods to their tenant's nodes
    (rules and reasoning: :mod:`tenancy.plan.admission`). One for the whole cluster.

    Attributes: ``policy``, ``binding``.
    """

    def __init__(self, name: str, args: PlacementPolicyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:PlacementPolicy", name, None, opts)
        self.policy, self.binding = _policy_and_binding(
            self, name, args.provider, admission.placement_policy(), admission.placement_binding())
        self.register_outputs({})


@dataclass(frozen=True)
class ServiceExposurePolicyArgs:
    """Inputs of :class:`ServiceExposurePolicy`."""

    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (``Cluster.provider``)."""


class ServiceExposurePolicy(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicy + binding ``tenancy-service-exposure``: no ``externalIPs``,
    no ``ExternalName``, and ``NodePort``/``LoadBalancer`` only when the tenant's quota grants
    them (rules and reasoning: :func:`tenancy.plan.admission.service_exposure_policy`). One for
    the whole cluster; tenant namespaces wait for it like for the placement policy.

    Attributes: ``policy``, ``binding``.
    """

    def __init__(self, name: str, args: ServiceExposurePolicyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:ServiceExposurePolicy", name, None, opts)
        self.policy, self.binding = _policy_and_binding(
            self, name, args.provider, admission.service_exposure_policy(), admission.service_exposure_binding())
        self.register_outputs({})


@dataclass(frozen=True)
class DisruptionBudgetPolicyArgs:
    """Inputs of :class:`DisruptionBudgetPolicy`."""

    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (``Cluster.provider``)."""


class DisruptionBudgetPolicy(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicy + binding ``tenancy-pool-disruption-budgets``: in pooled
    tenants' namespaces, no PodDisruptionBudget that can never be satisfied and every budget with
    ``unhealthyPodEvictionPolicy: AlwaysAllow`` (rules and reasoning:
    :func:`tenancy.plan.admission.disruption_budget_policy`). One for the whole cluster, registered
    when a tenant is pooled.

    Attributes: ``policy``, ``binding``.
    """

    def __init__(self, name: str, args: DisruptionBudgetPolicyArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:DisruptionBudgetPolicy", name, None, opts)
        self.policy, self.binding = _policy_and_binding(
            self, name, args.provider, admission.disruption_budget_policy(), admission.disruption_budget_binding())
        self.register_outputs({})


@dataclass(frozen=True)
class TenantRbacPolicyArgs:
    """Inputs of :class:`TenantRbacPolicy`."""

    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (``Cluster.provider``)."""


class TenantRbacPolicy(pulumi.ComponentResource):
    """The ValidatingAdmissionPolicy + binding ``tenancy-tenant-rbac``: tenants with
    ``selfService.rbac`` may write Roles and RoleBindings, but never the platform's ``tenancy-``
    ones, and bind only their own groups and ServiceAccounts (rules and reasoning:
    :func:`tenancy.plan.admission.tenant_rbac_policy`). One for the whole cluster, registered when
    a tenant has ``selfService.rbac``.

    Attributes: ``policy``, ``binding``.
    """

    def __init__(self, name: str, args: TenantRbacPolicyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:TenantRbacPolicy", name, None, opts)
        self.policy, self.binding = _policy_and_binding(
            self, name, args.provider, admission.tenant_rbac_policy(), admission.tenant_rbac_binding())
        self.register_outputs({})


@dataclass(frozen=True)
class PlacementInjectionArgs:
    """Inputs of :class:`PlacementInjection`."""

    provider: pulumi.ProviderResource
    """The cluster's Kubernetes provider (``Cluster.provider``)."""


class PlacementInjection(pulumi.ComponentResource):
    """The MutatingAdmissionPolicy + binding ``tenancy-pod-placement-defaults``: pods that leave out
    their tenant's (or pool's) node selector, toleration or tier PriorityClass get them (rules and
    reasoning: :func:`tenancy.plan.admission.placement_mutation_policy`); the placement policy
    still judges every pod. One for the whole cluster, registered on Kubernetes 1.36 and later
    (:func:`tenancy.plan.admission.mutation_supported`).

    Attributes: ``policy``, ``binding``.
    """

    def __init__(self, name: str, args: PlacementInjectionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:PlacementInjection", name, None, opts)
        from pulumi_kubernetes.admissionregistration import v1 as adm

        policy, binding = admission.placement_mutation_policy(), admission.placement_mutation_binding()
        self.policy = adm.MutatingAdmissionPolicy(
            f"{name}-policy", metadata=policy["metadata"], spec=policy["spec"],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider))
        self.binding = adm.MutatingAdmissionPolicyBinding(
            f"{name}-binding", metadata=binding["metadata"], spec=binding["spec"],
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[self.policy]))
        self.register_outputs({})
