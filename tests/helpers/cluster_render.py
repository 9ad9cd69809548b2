"""Render the platform for the cluster layer's tests.

:func:`render_cluster` renders the real stack program (``render_spec``). When the tree has no
network layer yet (the cluster layer takes its ids from it), the platform builds no cluster; the
cluster layer is then rendered by a stand-in program that wires the very same components the
platform wires, with fixed network ids (:data:`STANDIN`), each tenant's components parented
under a ``tenancy:index:Tenant`` component so tenant attribution works as in the real render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from tenancy.render.engine import run_under_mocks, tenant_of
from tenancy.render.result import RenderResult, _to_dict, render_spec
from tenancy.spec import load_platform


@dataclass(frozen=True)
class NetworkIds:
    """The network layer's outputs the cluster layer consumes: read from the render's stack
    outputs (real network layer), or fixed stand-in ids (``standin``)."""

    vpc_id: str
    system_subnet_ids: list[str]
    control_plane_security_group_id: str
    system_security_group_id: str
    tenant_nodes_security_group_id: str
    tenants: dict[str, dict[str, Any]]
    standin: bool

    def tenant_subnet_ids(self, tenant: str) -> list[str]:
        return list(self.tenants[tenant]["subnetIds"])

    def tenant_security_group_id(self, tenant: str) -> str:
        return str(self.tenants[tenant]["securityGroupId"])

    @classmethod
    def standin_for(cls, tenants: list[str], azs: int) -> NetworkIds:
        return cls(
            vpc_id="vpc-0standin000000001",
            system_subnet_ids=[f"subnet-0standinsystem{i}" for i in range(azs)],
            control_plane_security_group_id="sg-0standincontrolpl",
            system_security_group_id="sg-0standinsystem001",
            tenant_nodes_security_group_id="sg-0standintenantnod",
            tenants={t: {"subnetIds": [f"subnet-0standin-{t}-{i}" for i in range(azs)],
                         "securityGroupId": f"sg-0standin-{t}"} for t in tenants},
            standin=True,
        )

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> NetworkIds:
        n = outputs["network"]
        return cls(vpc_id=n["vpcId"], system_subnet_ids=list(n["systemSubnetIds"]),
                   control_plane_security_group_id=n["controlPlaneSecurityGroupId"],
                   system_security_group_id=n["systemSecurityGroupId"],
                   tenant_nodes_security_group_id=n["tenantNodesSecurityGroupId"],
                   tenants=dict(outputs["tenants"]), standin=False)


StandInNetwork = NetworkIds  # older name


class _TenantStandIn(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("tenancy:index:Tenant", name, None, None)


def render_cluster(spec_dict: dict[str, Any]) -> tuple[RenderResult, NetworkIds]:
    """The render, and the network ids the cluster layer was given."""
    result = render_spec(spec_dict)
    if result.of_type("tenancy:cluster:Cluster"):
        return result, NetworkIds.from_outputs(result.stack_outputs)
    from tenancy import cluster as c

    spec = load_platform(spec_dict)
    net = NetworkIds.standin_for([t.name for t in spec.tenants], spec.availability_zones)

    def program() -> None:
        cl = c.Cluster(spec.name, c.ClusterArgs(
            platform=spec, vpc_id=net.vpc_id, system_subnet_ids=net.system_subnet_ids,
            control_plane_security_group_id=net.control_plane_security_group_id,
            system_security_group_id=net.system_security_group_id))
        c.PlacementPolicy(f"{spec.name}-placement", c.PlacementPolicyArgs(provider=cl.provider))
        for t in spec.tenants:
            owner = pulumi.ResourceOptions(parent=_TenantStandIn(t.name))
            c.TenantNodeGroup(t.name, c.TenantNodeGroupArgs(
                platform=spec, tenant=t, cluster_name=cl.cluster_name, subnet_ids=net.tenant_subnet_ids(t.name),
                security_group_id=net.tenant_security_group_id(t.name),
                tenant_nodes_security_group_id=net.tenant_nodes_security_group_id,
                depends_on=cl.node_dependencies), opts=owner)
            if t.admins or t.editors or t.viewers:
                c.TenantAccess(t.name, c.TenantAccessArgs(platform=spec, tenant=t, cluster_name=cl.cluster_name),
                               opts=owner)

    regs, _ = run_under_mocks(program)
    tenants = tenant_of(regs)
    resources = [_to_dict(r, tenants[r.urn]) for r in regs]
    return RenderResult(project="tenancy", stack="render", spec=spec, resources=resources, stack_outputs={}), net
