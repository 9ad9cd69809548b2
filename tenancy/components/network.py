"""The AWS network layer: the shared VPC and, per tenant, its subnets and security group.

* :class:`Network` (``tenancy:network:Network``) — the VPC, public and system subnets, NAT,
  route tables, the platform's shared security groups, VPC endpoints and flow logs.
* :class:`TenantNetwork` (``tenancy:network:TenantNetwork``) — one tenant's private subnets
  (one per zone, from its address block), their route table associations, its node security
  group and, optionally, its network ACL.
* :class:`PoolNetwork` (``tenancy:network:PoolNetwork``) — one node pool's subnets (its address
  block, exactly like a tenant's), its node security group and, optionally, its network ACL.
  Built by :class:`Network` for every ``nodePools`` entry (``Network.pools``).
* :func:`allow_tenant_traffic` — one ``allowFrom`` edge: the rules letting one tenant's nodes
  open connections to another's, owned by the tenant that declared it.
* :func:`pool_nacl_entries` — the network ACL entries of edges that cross a pool's block (one
  per block pair, not per tenant).

What is allowed where is planned in :mod:`tenancy.plan.network`; addresses come from
``spec.address_plan`` (:mod:`tenancy.spec.addressing`). See ``docs/network.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.components import invokes
from tenancy.plan import network as plan
from tenancy.plan.cluster import pool_resource_name, pool_security_group_name
from tenancy.spec import EdgePort, PlatformSpec, TenantSpec, naming
from tenancy.spec.wire import AWS_S3_BUCKET
from tenancy.spec.wire import POOL_LABEL as POOL_TAG

__all__ = ["Network", "PoolNetwork", "PoolNetworkArgs", "TenantNetwork", "TenantNetworkArgs", "TenantPeering",
           "allow_tenant_traffic", "pool_nacl_entries"]

INTERNET_CIDR = "0.0.0.0/0"


def _child(parent: pulumi.Resource, **kw: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kw)


def _sg_rule(resource_name: str, rule: plan.SgRule, group_id: pulumi.Input[str], refs: Mapping[str, pulumi.Input[str]],
             tags: dict[str, str], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """Register one :class:`plan.SgRule` on ``group_id``; ``refs`` resolves symbolic peers."""
    kwargs: dict[str, Any] = {
        "security_group_id": group_id,
        "ip_protocol": rule.protocol,
        "description": rule.description,
        "tags": tags,
    }
    if rule.protocol != plan.ALL and rule.from_port is not None:  # (SCTP, "132": AWS takes no ports)
        kwargs["from_port"], kwargs["to_port"] = rule.from_port, rule.to_port
    if rule.peer == plan.INTERNET:
        kwargs["cidr_ipv4"] = INTERNET_CIDR
    elif rule.peer == plan.VPC:
        kwargs["cidr_ipv4"] = refs[plan.VPC]
    elif rule.peer.startswith(plan.CIDR_PEER):
        kwargs["cidr_ipv4"] = rule.peer.removeprefix(plan.CIDR_PEER)
    elif rule.peer.startswith(plan.SG_PEER):
        kwargs["referenced_security_group_id"] = rule.peer.removeprefix(plan.SG_PEER)
    elif rule.peer == plan.S3:
        kwargs["prefix_list_id"] = refs[plan.S3]
    elif rule.peer == plan.SELF:
        kwargs["referenced_security_group_id"] = group_id
    else:
        kwargs["referenced_security_group_id"] = refs[rule.peer]
    cls = aws.vpc.SecurityGroupIngressRule if rule.direction == "ingress" else aws.vpc.SecurityGroupEgressRule
    return cls(resource_name, opts=opts, **kwargs)


# --------------------------------------------------------------------------------------------
# The shared network


class Network(pulumi.ComponentResource):
    """The platform's VPC and everything tenants share in it.

    Children (``<name>`` is the component's name, normally the platform's):

    * the VPC (DNS support and hostnames on) and its default security group, emptied;
    * per zone a public subnet (NAT gateway, internet-facing load balancers) and a system subnet
      (system node group, control-plane ENIs, interface endpoints);
    * an internet gateway; one NAT gateway per zone (``network.natGateways: perAz``) or one in
      the first zone (``single``);
    * route tables: ``public`` (default route to the internet gateway), ``egress-az<i>`` per zone
      (default route to NAT: system subnets and tenants with ``internetEgress``), and
      ``isolated`` (no default route: tenants without ``internetEgress``);
    * security groups ``control-plane`` (give it to EKS as the additional cluster security
      group), ``system-nodes``, ``tenant-nodes`` (the rule-less marker every tenant node carries)
      and ``endpoints``, with their rules from :mod:`tenancy.plan.network`;
    * VPC endpoints: S3 (gateway, on every private route table) and interface endpoints for ECR
      api/dkr, STS, EC2, CloudWatch Logs (and EKS Auth with Pod Identity);
    * VPC flow logs of ALL traffic to CloudWatch Logs (log group with retention + a delivery role
      scoped to it) or to an S3 bucket.

    Attributes are Pulumi outputs other layers consume; lists are in zone order.
    """

    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    zone_names: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    system_subnet_ids: list[pulumi.Output[str]]
    nat_gateway_ids: list[pulumi.Output[str]]
    public_route_table_id: pulumi.Output[str]
    private_route_table_ids: list[pulumi.Output[str]]
    """Per zone, the route tables with a default route through NAT (``egress-az<i>``)."""
    isolated_route_table_id: pulumi.Output[str]
    control_plane_security_group_id: pulumi.Output[str]
    system_security_group_id: pulumi.Output[str]
    tenant_nodes_security_group_id: pulumi.Output[str]
    endpoint_security_group_id: pulumi.Output[str]
    s3_prefix_list_id: pulumi.Output[str]
    interface_endpoint_ids: dict[str, pulumi.Output[str]]
    flow_log: aws.ec2.FlowLog
    flow_log_group: aws.cloudwatch.LogGroup | None
    flow_log_role: aws.iam.Role | None
    flow_log_bucket: aws.s3.Bucket | None

    def __init__(self, name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:network:Network", name, None, opts)
        self.spec = spec
        self._stem = name
        self._address = spec.address_plan
        self._cluster = naming.cluster_name(spec.name)
        self._tags = naming.tags(spec.name)
        self.vpc_cidr = self._address.vpc_cidr

        vpc, igw = self._vpc_and_zones()
        public, system = self._subnets()
        self._public_routes(public, igw)
        nats = self._nat_gateways(public, igw)
        self._private_routes(system, nats)
        groups = self._security_groups()
        s3 = self._s3_endpoint()
        refs = self._shared_rules(groups, s3)
        self._interface_endpoints(groups)
        self._flow_logs(name, spec, vpc, self._tags)
        self._pools(refs)
        self._outputs()

    def _vpc_and_zones(self) -> tuple[aws.ec2.Vpc, aws.ec2.InternetGateway]:
        """The VPC, its emptied default group, the zones, the region and the internet gateway."""
        name, spec, tags = self._stem, self.spec, self._tags
        self._vpc = vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=self._address.vpc_cidr, enable_dns_support=True,
                                      enable_dns_hostnames=True, tags={**tags, "Name": f"{spec.name}"},
                                      opts=_child(self))
        self.vpc_id = vpc.id
        # The default group is on anything launched without a group: leave it with no rules.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id,
                                     tags={**tags, "Name": f"{spec.name}-default-unused"}, opts=_child(self))

        azs = spec.availability_zones
        if spec.network.zone_names:
            self.zone_names = [pulumi.Output.from_input(z) for z in spec.network.zone_names]
        else:
            available = aws.get_availability_zones_output(
                state="available",
                filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
                opts=pulumi.InvokeOutputOptions(parent=self))
            self.zone_names = [available.names.apply(functools.partial(invokes.zone, i=i, wanted=azs))
                               for i in range(azs)]
        self._region = invokes.region(self)

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={**tags, "Name": f"{spec.name}"},
                                      opts=_child(self))
        return vpc, igw

    def _subnets(self) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.Subnet]]:
        """Per zone a public and a system subnet."""
        name, spec = self._stem, self.spec

        def subnet(role: plan.SubnetRole, i: int, cidr: str) -> aws.ec2.Subnet:
            label = f"{spec.name}-{role}-az{i}"
            return aws.ec2.Subnet(f"{name}-{role}-az{i}", vpc_id=self._vpc.id, cidr_block=cidr,
                                  availability_zone=self.zone_names[i], map_public_ip_on_launch=False,
                                  tags=plan.subnet_tags(self._tags, self._cluster, role, label), opts=_child(self))

        public = [subnet("public", i, str(c)) for i, c in enumerate(self._address.public_subnets())]
        system = [subnet("system", i, str(c)) for i, c in enumerate(self._address.system_subnets())]
        self.public_subnet_ids = [s.id for s in public]
        self.system_subnet_ids = [s.id for s in system]
        return public, system

    def _public_routes(self, public: list[aws.ec2.Subnet], igw: aws.ec2.InternetGateway) -> None:
        """The ``public`` route table: default route to the internet gateway, on the public subnets."""
        name, spec = self._stem, self.spec
        public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=self._vpc.id,
                                       tags={**self._tags, "Name": f"{spec.name}-public"}, opts=_child(self))
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block=INTERNET_CIDR,
                      gateway_id=igw.id, opts=_child(self))
        for i, s in enumerate(public):
            aws.ec2.RouteTableAssociation(f"{name}-public-az{i}", subnet_id=s.id, route_table_id=public_rt.id,
                                          opts=_child(self))
        self.public_route_table_id = public_rt.id

    def _nat_gateways(self, public: list[aws.ec2.Subnet], igw: aws.ec2.InternetGateway) -> list[aws.ec2.NatGateway]:
        """One NAT gateway (and its elastic IP) per zone, or one in the first zone."""
        name, spec, tags = self._stem, self.spec, self._tags
        nat_count = spec.availability_zones if spec.network.nat_gateways == "perAz" else 1
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-az{i}", domain="vpc", tags={**tags, "Name": f"{spec.name}-nat-az{i}"},
                              opts=_child(self, depends_on=[igw]))
            nats.append(aws.ec2.NatGateway(f"{name}-nat-az{i}", allocation_id=eip.allocation_id,
                                           subnet_id=public[i].id, connectivity_type="public",
                                           tags={**tags, "Name": f"{spec.name}-nat-az{i}"},
                                           opts=_child(self, depends_on=[igw])))
        self.nat_gateway_ids = [n.id for n in nats]
        return nats

    def _private_routes(self, system: list[aws.ec2.Subnet], nats: list[aws.ec2.NatGateway]) -> None:
        """Per zone the ``egress-az<i>`` route table (default route to NAT, on the system subnet),
        and the ``isolated`` one (no default route)."""
        name, spec, tags = self._stem, self.spec, self._tags
        egress_rts = []
        for i in range(spec.availability_zones):
            rt = aws.ec2.RouteTable(f"{name}-egress-az{i}", vpc_id=self._vpc.id,
                                    tags={**tags, "Name": f"{spec.name}-egress-az{i}"}, opts=_child(self))
            aws.ec2.Route(f"{name}-egress-az{i}-default", route_table_id=rt.id, destination_cidr_block=INTERNET_CIDR,
                          nat_gateway_id=nats[i if len(nats) > 1 else 0].id, opts=_child(self))
            aws.ec2.RouteTableAssociation(f"{name}-system-az{i}", subnet_id=system[i].id, route_table_id=rt.id,
                                          opts=_child(self))
            egress_rts.append(rt)
        isolated_rt = aws.ec2.RouteTable(f"{name}-isolated", vpc_id=self._vpc.id,
                                         tags={**tags, "Name": f"{spec.name}-isolated"}, opts=_child(self))
        self.private_route_table_ids = [rt.id for rt in egress_rts]
        self.isolated_route_table_id = isolated_rt.id

    def _security_groups(self) -> dict[str, aws.ec2.SecurityGroup]:
        """The shared security groups, without rules (created first, rules after, so rules can
        reference any group)."""
        name, spec = self._stem, self.spec
        groups: dict[str, aws.ec2.SecurityGroup] = {}
        for g, what in ((plan.CONTROL_PLANE, "additional EKS control-plane group"),
                        (plan.SYSTEM, "system node group"),
                        (plan.TENANT_NODES, "marker on every tenant node; holds no rules"),
                        (plan.ENDPOINTS, "interface VPC endpoints")):
            slug = _slug(g)
            sg_tags = {**self._tags, "Name": f"{spec.name}-{slug}"}
            if g == plan.SYSTEM:
                sg_tags = plan.node_security_group_tags(sg_tags, self._cluster)
            groups[g] = aws.ec2.SecurityGroup(
                f"{name}-{slug}", vpc_id=self._vpc.id, name=f"{spec.name}-{slug}",
                description=f"tenancy {spec.name}: {what}", tags=sg_tags, opts=_child(self))
        self.control_plane_security_group_id = groups[plan.CONTROL_PLANE].id
        self.system_security_group_id = groups[plan.SYSTEM].id
        self.tenant_nodes_security_group_id = groups[plan.TENANT_NODES].id
        self.endpoint_security_group_id = groups[plan.ENDPOINTS].id
        return groups

    def _s3_endpoint(self) -> aws.ec2.VpcEndpoint:
        """The S3 gateway endpoint on every private route table, and S3's CIDRs."""
        name, spec = self._stem, self.spec
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3", vpc_id=self._vpc.id, vpc_endpoint_type="Gateway",
            service_name=self._region.apply(lambda r: plan.endpoint_service_name(r, "s3")),
            route_table_ids=[*self.private_route_table_ids, self.isolated_route_table_id],
            tags={**self._tags, "Name": f"{spec.name}-s3"}, opts=_child(self))
        self.s3_prefix_list_id = s3.prefix_list_id
        # S3 traffic through the gateway endpoint goes to S3's public ranges: the pods' network
        # policies need them as CIDRs (resolved at deploy time from the prefix list).
        self.s3_cidr_blocks: pulumi.Output[list[str]] = aws.ec2.get_prefix_list_output(
            prefix_list_id=self.s3_prefix_list_id, opts=pulumi.InvokeOutputOptions(parent=self)).cidr_blocks
        return s3

    def _shared_rules(self, groups: dict[str, aws.ec2.SecurityGroup],
                      s3: aws.ec2.VpcEndpoint) -> dict[str, pulumi.Input[str]]:
        """The shared groups' rules (:func:`plan.shared_rules`). Returns the symbolic peers' refs."""
        spec, address = self.spec, self._address
        refs: dict[str, pulumi.Input[str]] = {g: sg.id for g, sg in groups.items()}
        refs[plan.VPC] = address.vpc_cidr
        refs[plan.S3] = s3.prefix_list_id
        api_access = plan.api_access_peers(spec.cluster.api_access_cidrs, spec.cluster.api_access_security_group_ids,
                                           address.vpc_cidr)
        lb_from = str(address.block(0)) if spec.workloads.ingress_controller_namespace else None
        for g, sg in groups.items():
            for rule in plan.shared_rules(g, api_access, lb_from, mesh=spec.workloads.mesh == "istio"):
                _sg_rule(f"{self._stem}-{_slug(g)}-{rule.key}", rule, sg.id, refs, self._tags, _child(self))
        return refs

    def _interface_endpoints(self, groups: dict[str, aws.ec2.SecurityGroup]) -> None:
        """The interface endpoints (:func:`plan.interface_endpoints`) in the system subnets."""
        name, spec = self._stem, self.spec
        self.interface_endpoint_ids = {}
        for svc in plan.interface_endpoints(spec.identity.mode, spec.observability.metrics.enabled):
            suffix = plan.endpoint_resource_suffix(svc)
            ep = aws.ec2.VpcEndpoint(
                f"{name}-{suffix}", vpc_id=self._vpc.id, vpc_endpoint_type="Interface",
                service_name=self._region.apply(functools.partial(plan.endpoint_service_name, service=svc)),
                private_dns_enabled=True, subnet_ids=self.system_subnet_ids,
                security_group_ids=[groups[plan.ENDPOINTS].id],
                tags={**self._tags, "Name": f"{spec.name}-{suffix}"}, opts=_child(self))
            self.interface_endpoint_ids[svc] = ep.id

    def _pools(self, refs: dict[str, pulumi.Input[str]]) -> None:
        """Node pools: built once per pool, whatever the number of their tenants."""
        spec = self.spec
        self.pools: dict[str, PoolNetwork] = {}
        for pool in spec.node_pools:
            self.pools[pool.name] = PoolNetwork(pool_resource_name(spec.name, pool.name), PoolNetworkArgs(
                platform=spec, pool=pool.name, slot=pool.slot, vpc_id=self._vpc.id, zone_names=self.zone_names,
                route_table_ids=(self.private_route_table_ids if _pool_internet_egress(spec, pool.name)
                                 else [self.isolated_route_table_id] * spec.availability_zones),
                refs=refs), opts=_child(self))

    def _outputs(self) -> None:
        self.register_outputs({
            "vpcId": self.vpc_id,
            "publicSubnetIds": self.public_subnet_ids,
            "systemSubnetIds": self.system_subnet_ids,
            "natGatewayIds": self.nat_gateway_ids,
            "privateRouteTableIds": self.private_route_table_ids,
            "isolatedRouteTableId": self.isolated_route_table_id,
            "controlPlaneSecurityGroupId": self.control_plane_security_group_id,
            "systemSecurityGroupId": self.system_security_group_id,
            "tenantNodesSecurityGroupId": self.tenant_nodes_security_group_id,
            "endpointSecurityGroupId": self.endpoint_security_group_id,
            "flowLogId": self.flow_log.id,
        })

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """What other stacks need: the VPC, subnets per role, shared security groups."""
        return {
            "vpcId": self.vpc_id,
            "vpcCidr": self.vpc_cidr,
            "publicSubnetIds": self.public_subnet_ids,
            "systemSubnetIds": self.system_subnet_ids,
            "controlPlaneSecurityGroupId": self.control_plane_security_group_id,
            "systemSecurityGroupId": self.system_security_group_id,
            "tenantNodesSecurityGroupId": self.tenant_nodes_security_group_id,
            "endpointSecurityGroupId": self.endpoint_security_group_id,
        }

    def _flow_logs(self, name: str, spec: PlatformSpec, vpc: aws.ec2.Vpc, tags: dict[str, str]) -> None:
        fl = spec.network.flow_logs
        self.flow_log_group = self.flow_log_role = self.flow_log_bucket = None
        common: dict[str, Any] = dict(
            vpc_id=vpc.id, traffic_type="ALL", log_format=plan.FLOW_LOG_FORMAT,
            max_aggregation_interval=plan.FLOW_LOG_AGGREGATION_SECONDS,
            tags={**tags, "Name": f"{spec.name}-flow-logs"})
        if fl.destination == "cloudWatch":
            group = aws.cloudwatch.LogGroup(
                f"{name}-flow-logs", name=f"/tenancy/{spec.name}/vpc-flow-logs",
                retention_in_days=fl.retention_days, tags=tags, opts=_child(self))
            group_arn = invokes.arn_or_built(group.arn, "logs", f"log-group:/tenancy/{spec.name}/vpc-flow-logs", self)
            role = aws.iam.Role(
                f"{name}-flow-logs", name=f"{spec.name}-vpc-flow-logs",
                description="Delivers the VPC's flow logs to its log group",
                assume_role_policy=group_arn.apply(plan.flow_logs_trust_policy), tags=tags, opts=_child(self))
            role_policy = aws.iam.RolePolicy(
                f"{name}-flow-logs", role=role.name, name="deliver-flow-logs",
                policy=group_arn.apply(plan.flow_logs_role_policy), opts=_child(self))
            self.flow_log = aws.ec2.FlowLog(
                f"{name}-flow-logs", log_destination_type="cloud-watch-logs", log_destination=group.arn,
                iam_role_arn=role.arn, **common, opts=_child(self, depends_on=[role_policy]))
            self.flow_log_group, self.flow_log_role = group, role
            return
        bucket = aws.s3.Bucket(f"{name}-flow-logs", bucket_prefix=f"{spec.name}-flow-logs-", force_destroy=False,
                               tags=tags, opts=_child(self))
        aws.s3.BucketPublicAccessBlock(f"{name}-flow-logs", bucket=bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=_child(self))
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-flow-logs", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(  # noqa: E501
                    sse_algorithm="AES256"))],
            opts=_child(self))
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-flow-logs", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-flow-logs", status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix="AWSLogs/"),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=fl.retention_days))],
            opts=_child(self))
        account = invokes.account_id(self)
        policy = aws.s3.BucketPolicy(
            f"{name}-flow-logs", bucket=bucket.id,
            policy=pulumi.Output.all(invokes.present(bucket.arn, AWS_S3_BUCKET, "arn"), account).apply(
                lambda a: plan.flow_logs_bucket_policy(a[0], a[1], plan.partition_of(a[0]))),
            opts=_child(self))
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-logs", log_destination_type="s3", log_destination=bucket.arn,
            **common, opts=_child(self, depends_on=[policy]))
        self.flow_log_bucket = bucket


def _pool_internet_egress(spec: PlatformSpec, pool: str) -> bool:
    """Does a pool's block route to NAT? Yes when one of its tenants has ``internetEgress``: in
    strict mode a pod's traffic leaves through its branch interface, unSNATed, and follows the
    pool subnet's route table (EKS user guide, security-groups-for-pods.adoc: "Pods with assigned
    security groups must be launched on nodes that are deployed in a private subnet configured
    with a NAT gateway"). The tenants without ``internetEgress`` have no rule to the internet in
    their groups, so the route alone lets nothing out."""
    return any(t.internet_egress for t in spec.pool_tenants(pool))


def _slug(group: str) -> str:
    return {plan.CONTROL_PLANE: "control-plane", plan.SYSTEM: "system-nodes",
            plan.TENANT_NODES: "tenant-nodes", plan.ENDPOINTS: "endpoints"}[group]


# --------------------------------------------------------------------------------------------
# One tenant


@dataclass(frozen=True)
class TenantNetworkArgs:
    """What a :class:`TenantNetwork` needs. Build it with :meth:`from_network` when the shared
    network is a :class:`Network` of the same program; pass the ids yourself otherwise."""

    platform: PlatformSpec
    """The platform spec (address plan, names, NACL switch)."""
    tenant: TenantSpec
    """The tenant; its ``slot`` picks its address block, ``internetEgress`` its route tables."""
    vpc_id: pulumi.Input[str]
    zone_names: Sequence[pulumi.Input[str]]
    """Availability zone names in zone order (``Network.zone_names``)."""
    egress_route_table_ids: Sequence[pulumi.Input[str]]
    """Per zone, the route tables through NAT (``Network.private_route_table_ids``), used with
    ``internetEgress``."""
    isolated_route_table_id: pulumi.Input[str]
    """The route table with no default route, used without ``internetEgress``."""
    control_plane_security_group_id: pulumi.Input[str]
    system_security_group_id: pulumi.Input[str]
    endpoint_security_group_id: pulumi.Input[str]
    s3_prefix_list_id: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)
    """Extra tags on every resource (on top of ``naming.tags(platform, tenant)``). Default none."""
    pool_security_group_id: pulumi.Input[str] | None = None
    """POOLED tenants only: the node security group of the tenant's pool (``PoolNetwork``),
    admitted for kubelet probes. Default none (dedicated tenants)."""
    tenant_nodes_security_group_id: pulumi.Input[str] | None = None
    """POOLED tenants only: the marker group (``Network.tenant_nodes_security_group_id``), the
    second group on the tenant's pods. Default none."""

    @classmethod
    def from_network(cls, network: Network, tenant: TenantSpec,
                     platform: PlatformSpec | None = None) -> TenantNetworkArgs:
        pool = network.pools[tenant.pool] if tenant.pool else None
        return cls(
            platform=platform or network.spec, tenant=tenant, vpc_id=network.vpc_id,
            zone_names=network.zone_names, egress_route_table_ids=network.private_route_table_ids,
            isolated_route_table_id=network.isolated_route_table_id,
            control_plane_security_group_id=network.control_plane_security_group_id,
            system_security_group_id=network.system_security_group_id,
            endpoint_security_group_id=network.endpoint_security_group_id,
            s3_prefix_list_id=network.s3_prefix_list_id,
            pool_security_group_id=pool.security_group_id if pool is not None else None,
            tenant_nodes_security_group_id=network.tenant_nodes_security_group_id if pool is not None else None,
        )


class TenantNetwork(pulumi.ComponentResource):
    """One tenant's share of the VPC, every child named ``<tenant>-…`` and tagged with the tenant.

    * one private subnet per zone from the tenant's address block (``spec.address_plan``),
      associated with the NAT route table of its zone (``internetEgress``) or the isolated one;
    * the tenant's node security group ``<platform>-<tenant>-nodes`` and its rules
      (:func:`tenancy.plan.network.tenant_rules`);
    * with ``network.tenantNetworkAcls``, a network ACL on its subnets admitting its own block,
      the platform's blocks and outside the VPC, denying the rest of the VPC.

    Tenant nodes must carry :attr:`security_group_id` AND the network's ``tenant_nodes`` marker
    group, and nothing else shared (not the EKS cluster security group, which admits all
    traffic between its members).

    A POOLED tenant (``tenant.pool``) has no subnets and no NACL (its pods' addresses are in its
    pool's block); its group is built like a dedicated tenant's plus TCP from its pool's node
    group (probes), and goes on its pods: :attr:`pod_security_group_ids` (its group and the
    marker) is what the tenant's ``SecurityGroupPolicy`` lists.
    """

    subnet_ids: list[pulumi.Output[str]]
    security_group_id: pulumi.Output[str]
    network_acl_id: pulumi.Output[str] | None
    pod_security_group_ids: pulumi.Output[list[str]] | None
    """Pooled tenants: ``[tenant group id, marker group id]`` for the SecurityGroupPolicy; None
    for dedicated tenants (their pods use their nodes' groups)."""

    def __init__(self, name: str, args: TenantNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:network:TenantNetwork", name, None, opts)
        platform, tenant = args.platform, args.tenant
        self.tenant = tenant.name
        self.platform = platform
        self.pool: str | None = tenant.pool
        if self.pool is not None and (args.pool_security_group_id is None
                                      or args.tenant_nodes_security_group_id is None):
            raise ValueError(f"tenant {tenant.name!r} is on pool {self.pool!r}: TenantNetworkArgs needs "
                             f"pool_security_group_id and tenant_nodes_security_group_id (use from_network)")
        # A pooled tenant's traffic is in its pool's block (NACL edges are the pool's).
        self.slot: int = platform.block_slot(tenant)
        self.block = str(platform.address_plan.tenant_block(self.slot))
        self._cluster = naming.cluster_name(platform.name)
        self.tags = {**naming.tags(platform.name, tenant.name), **args.tags}

        self._subnets(args)
        self._security_group(args)
        self.network_acl_id = None
        if platform.network.tenant_network_acls and self.pool is None:
            self.network_acl_id = _block_network_acl(self, tenant.name, f"{platform.name}-{tenant.name}", platform,
                                                     self.block, args.vpc_id, self.subnet_ids, self.tags)
        self._outputs()

    def _subnets(self, args: TenantNetworkArgs) -> None:
        """A dedicated tenant's subnets (one per zone) and their route table associations."""
        platform, tenant, t = self.platform, args.tenant, self.tenant
        subnets = []
        for i, cidr in enumerate([] if self.pool is not None else platform.address_plan.tenant_subnets(self.slot)):
            label = f"{platform.name}-{t}-az{i}"
            sn = aws.ec2.Subnet(f"{t}-subnet-az{i}", vpc_id=args.vpc_id, cidr_block=str(cidr),
                                availability_zone=args.zone_names[i], map_public_ip_on_launch=False,
                                tags=plan.subnet_tags(self.tags, self._cluster, "tenant", label), opts=_child(self))
            rt = args.egress_route_table_ids[i] if tenant.internet_egress else args.isolated_route_table_id
            aws.ec2.RouteTableAssociation(f"{t}-subnet-az{i}", subnet_id=sn.id, route_table_id=rt, opts=_child(self))
            subnets.append(sn)
        self.subnet_ids = [s.id for s in subnets]

    def _security_group(self, args: TenantNetworkArgs) -> None:
        """The tenant's node security group and its rules; pooled, the pods' group ids."""
        platform, t, tags, pooled = self.platform, self.tenant, self.tags, self.pool is not None
        # One description whether the group sits on the tenant's nodes or (pooled) its pods: it is
        # ForceNew, and a tenant moving between a pool and its own nodes keeps its group (a
        # replacement could not even be created first: the name is unique in the VPC).
        sg = aws.ec2.SecurityGroup(
            f"{t}-nodes", vpc_id=args.vpc_id, name=f"{platform.name}-{t}-nodes",
            description=f"tenancy {platform.name}: nodes of tenant {t}",
            tags=plan.node_security_group_tags({**tags, "Name": f"{platform.name}-{t}-nodes"}, self._cluster),
            opts=_child(self))
        self.security_group_id = sg.id
        refs: dict[str, pulumi.Input[str]] = {
            plan.CONTROL_PLANE: args.control_plane_security_group_id,
            plan.SYSTEM: args.system_security_group_id,
            plan.ENDPOINTS: args.endpoint_security_group_id,
            plan.S3: args.s3_prefix_list_id,
        }
        if pooled:
            assert args.pool_security_group_id is not None
            refs[plan.POOL_NODES] = args.pool_security_group_id
        ingress_controller = platform.workloads.ingress_controller_namespace is not None
        for rule in plan.tenant_rules(args.tenant.internet_egress, ingress_controller,
                                      mesh=platform.workloads.mesh == "istio", pooled=pooled):
            _sg_rule(f"{t}-nodes-{rule.key}", rule, sg.id, refs, tags, _child(self))
        self.pod_security_group_ids = None
        if pooled:
            self.pod_security_group_ids = pulumi.Output.all(sg.id, args.tenant_nodes_security_group_id).apply(list)

    def _outputs(self) -> None:
        self.register_outputs({
            "subnetIds": self.subnet_ids,
            "securityGroupId": self.security_group_id,
            **({"networkAclId": self.network_acl_id} if self.network_acl_id is not None else {}),
            **({"podSecurityGroupIds": self.pod_security_group_ids} if self.pod_security_group_ids is not None
               else {}),
        })


# --------------------------------------------------------------------------------------------
# Node pools


@dataclass(frozen=True)
class PoolNetworkArgs:
    """What a :class:`PoolNetwork` needs (``Network`` builds one per ``nodePools`` entry)."""

    platform: PlatformSpec
    pool: str
    """The pool's name."""
    slot: int
    """The pool's ``slot`` (its address block)."""
    vpc_id: pulumi.Input[str]
    zone_names: Sequence[pulumi.Input[str]]
    route_table_ids: Sequence[pulumi.Input[str]]
    """Per zone, the route table of the pool's subnets."""
    refs: Mapping[str, pulumi.Input[str]]
    """The shared groups, the VPC CIDR and the S3 prefix list, by symbolic peer."""


class PoolNetwork(pulumi.ComponentResource):
    """One node pool's share of the VPC, every child named ``<platform>_pool-<pool>-…`` (never a
    tenant's name: the underscore) and tagged ``tenancy/pool``:

    * one private subnet per zone from the pool's address block (its ``slot``, in the tenants'
      slot space), tagged like a tenant's subnets (role ``tenant``) plus ``tenancy/pool``; its
      route table: NAT when a tenant of the pool has ``internetEgress``, else the isolated one;
    * the pool's node security group ``<platform>_pool-<pool>-nodes``
      (:func:`tenancy.plan.network.pool_node_rules`), cluster-tagged (the one tagged group on the
      nodes' primary interfaces; the pods' branch interfaces carry their tenants' tagged group);
    * with ``network.tenantNetworkAcls``, a network ACL like a tenant's, for the pool's block.

    Attributes: ``subnet_ids``, ``security_group_id``, ``network_acl_id`` (or None), ``block``,
    ``slot``.
    """

    def __init__(self, name: str, args: PoolNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:network:PoolNetwork", name, None, opts)
        platform, pool = args.platform, args.pool
        self.pool = pool
        self.slot = args.slot
        address = platform.address_plan
        self.block = str(address.tenant_block(args.slot))
        cluster = naming.cluster_name(platform.name)
        self.tags = tags = {**naming.tags(platform.name), POOL_TAG: pool}

        subnets = []
        for i, cidr in enumerate(address.tenant_subnets(args.slot)):
            label = f"{name}-az{i}"
            sn = aws.ec2.Subnet(f"{name}-subnet-az{i}", vpc_id=args.vpc_id, cidr_block=str(cidr),
                                availability_zone=args.zone_names[i], map_public_ip_on_launch=False,
                                tags=plan.subnet_tags(tags, cluster, "tenant", label), opts=_child(self))
            aws.ec2.RouteTableAssociation(f"{name}-subnet-az{i}", subnet_id=sn.id,
                                          route_table_id=args.route_table_ids[i], opts=_child(self))
            subnets.append(sn)
        self.subnet_ids = [s.id for s in subnets]

        sg_name = pool_security_group_name(platform.name, pool)
        sg = aws.ec2.SecurityGroup(
            f"{name}-nodes", vpc_id=args.vpc_id, name=sg_name,
            description=f"tenancy {platform.name}: nodes of pool {pool} (no tenant traffic)",
            tags=plan.node_security_group_tags({**tags, "Name": sg_name}, cluster), opts=_child(self))
        self.security_group_id = sg.id
        for rule in plan.pool_node_rules(self.block):
            _sg_rule(f"{name}-nodes-{rule.key}", rule, sg.id, args.refs, tags, _child(self))

        self.network_acl_id: pulumi.Output[str] | None = None
        if platform.network.tenant_network_acls:
            self.network_acl_id = _block_network_acl(self, name, name, platform, self.block, args.vpc_id,
                                                     self.subnet_ids, tags)

        self.register_outputs({
            "subnetIds": self.subnet_ids,
            "securityGroupId": self.security_group_id,
            **({"networkAclId": self.network_acl_id} if self.network_acl_id is not None else {}),
        })

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        return {"slot": self.slot, "addressBlock": self.block, "subnetIds": self.subnet_ids,
                "securityGroupId": self.security_group_id}




def _block_network_acl(parent: pulumi.Resource, key: str, display_name: str, platform: PlatformSpec, block: str,
                       vpc_id: pulumi.Input[str], subnet_ids: Sequence[pulumi.Input[str]],
                       tags: dict[str, str]) -> pulumi.Output[str]:
    """The network ACL of one address block (a dedicated tenant's or a pool's) on its subnets: the
    base rules of :func:`plan.nacl_base_rules`, resources named ``<key>-nacl…``. Returns its id."""
    address = platform.address_plan
    nacl = aws.ec2.NetworkAcl(f"{key}-nacl", vpc_id=vpc_id, subnet_ids=subnet_ids,
                              tags={**tags, "Name": display_name}, opts=_child(parent))
    for entry in plan.nacl_base_rules(address.vpc_cidr, address.tenant_block_prefix, block):
        _nacl_pair(f"{key}-nacl-{entry.key}", nacl.id, entry.rule_number, entry.action, entry.cidr, _child(parent))
    return nacl.id


def _nacl_pair(resource_name: str, acl_id: pulumi.Input[str], number: int, action: str, cidr: str,
               opts: pulumi.ResourceOptions) -> None:
    for egress in (False, True):
        aws.ec2.NetworkAclRule(f"{resource_name}-{'out' if egress else 'in'}", network_acl_id=acl_id,
                               rule_number=number, egress=egress, protocol="-1", rule_action=action,
                               cidr_block=cidr, opts=opts)


# --------------------------------------------------------------------------------------------
# allowFrom edges


@dataclass(frozen=True)
class TenantPeering:
    """The resources of one edge "``owner`` allows from ``source``"."""

    owner: str
    source: str
    ingress_rules: tuple[aws.vpc.SecurityGroupIngressRule, ...]
    """On the owner's group, from the source's group: one per port entry (one for every port)."""
    egress_rules: tuple[aws.vpc.SecurityGroupEgressRule, ...]
    """On the source's group, to the owner's group, the same ports."""

    @property
    def ingress(self) -> aws.vpc.SecurityGroupIngressRule:
        """The first ingress rule (the only one of an edge opening every port)."""
        return self.ingress_rules[0]

    @property
    def egress(self) -> aws.vpc.SecurityGroupEgressRule:
        """The first egress rule (the only one of an edge opening every port)."""
        return self.egress_rules[0]


def allow_tenant_traffic(owner: TenantNetwork, source: TenantNetwork,
                         ports: Sequence[EdgePort] | None = None) -> TenantPeering:
    """Let ``source``'s nodes (and pods) open connections to ``owner``'s: the edge declared by
    ``owner.allowFrom: [source]``.

    Creates, parented under ``owner`` (who declared it), ingress rules on owner's group from
    source's group and egress rules on source's group to owner's group: one pair per entry of
    ``ports`` (the edge's ``allowFrom[].ports``; that protocol and port range), or one pair for
    every protocol and port (``ports`` None) — :func:`tenancy.plan.network.edge_rules`. With
    tenant NACLs, the four NACL entries opening the two blocks to each other (every port: the
    NACLs are a coarse wall between blocks; the security groups and NetworkPolicies hold the
    ports). Nothing else changes: the edge's resources are named ``<owner>-from-<source>…`` and
    no list is shared with other edges.
    """
    pairs = plan.edge_rules(owner.tenant, source.tenant, ports)
    opts = _child(owner)
    tags = owner.tags
    refs = {f"tenant:{source.tenant}": source.security_group_id, f"tenant:{owner.tenant}": owner.security_group_id}
    name = f"{owner.tenant}-from-{source.tenant}"
    ing = tuple(_sg_rule(i.key, i, owner.security_group_id, refs, tags, opts) for i, _ in pairs)
    eg = tuple(_sg_rule(e.key, e, source.security_group_id, refs, tags, opts) for _, e in pairs)
    # Edges crossing a pool's block: one NACL entry per block pair (pool_nacl_entries).
    if owner.network_acl_id is not None and source.network_acl_id is not None:
        on_owner, on_source = plan.nacl_edge_rule_numbers(owner.slot, source.slot)
        _nacl_pair(f"{name}-nacl", owner.network_acl_id, on_owner, "allow", source.block, opts)
        _nacl_pair(f"{name}-nacl-peer", source.network_acl_id, on_source, "allow", owner.block, opts)
    return TenantPeering(owner.tenant, source.tenant, ing, eg)  # type: ignore[arg-type]


def pool_nacl_entries(spec: PlatformSpec, tenants: Mapping[str, TenantNetwork], pools: Mapping[str, PoolNetwork],
                      parents: Mapping[str, pulumi.Resource] | None = None) -> int:
    """With ``network.tenantNetworkAcls``, the NACL entries of every ``allowFrom`` edge that
    crosses a pool's block (:func:`tenancy.plan.network.nacl_peer_entries`): each pair of blocks
    once, however many pooled tenants' edges join them, numbered like a tenant edge's entries
    (``nacl_peer_rule_number``). Registered under the pool (``parents``: its component, default
    the PoolNetwork), named ``<pool stem>-nacl-<owner>-<peer>[-peer]``. Returns the number of
    entries (each one rule per direction)."""
    if not spec.network.tenant_network_acls or not pools:
        return 0
    pool_of = {t.name: t.pool for t in spec.pooled_tenants if t.pool}
    allow = {t.name: t.peers for t in spec.tenants}
    n = 0
    for owner, entries in sorted(plan.nacl_peer_entries(allow, pool_of).items()):
        for peer, declared in sorted(entries):
            if owner not in pools and peer not in pools:
                continue  # dedicated-to-dedicated: the owner tenant's allow_tenant_traffic
            pool = owner if owner in pools else peer
            acl = pools[owner].network_acl_id if owner in pools else tenants[owner].network_acl_id
            peer_net: PoolNetwork | TenantNetwork = pools[peer] if peer in pools else tenants[peer]
            if acl is None:
                continue
            parent = (parents or {}).get(pool, pools[pool])
            stem = pool_resource_name(spec.name, pool)
            _nacl_pair(f"{stem}-nacl-{owner}-{peer}{'' if declared else '-peer'}", acl,
                       plan.nacl_peer_rule_number(peer_net.slot, declared), "allow", peer_net.block,
                       _child(parent))
            n += 1
    return n
