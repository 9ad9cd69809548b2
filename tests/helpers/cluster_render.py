"""Render the platform for the cluster layer's tests: the real stack program, and the network
layer's ids the cluster layer was given (read from the stack outputs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tenancy.render.result import RenderResult, render_spec


@dataclass(frozen=True)
class NetworkIds:
    """The network layer's outputs the cluster layer consumes."""

    vpc_id: str
    system_subnet_ids: list[str]
    control_plane_security_group_id: str
    system_security_group_id: str
    tenant_nodes_security_group_id: str
    tenants: dict[str, dict[str, Any]]

    def tenant_subnet_ids(self, tenant: str) -> list[str]:
        return list(self.tenants[tenant]["subnetIds"])

    def tenant_security_group_id(self, tenant: str) -> str:
        return str(self.tenants[tenant]["securityGroupId"])

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> NetworkIds:
        n = outputs["network"]
        return cls(vpc_id=n["vpcId"], system_subnet_ids=list(n["systemSubnetIds"]),
                   control_plane_security_group_id=n["controlPlaneSecurityGroupId"],
                   system_security_group_id=n["systemSecurityGroupId"],
                   tenant_nodes_security_group_id=n["tenantNodesSecurityGroupId"],
                   tenants=dict(outputs["tenants"]))


def render_cluster(spec_dict: dict[str, Any]) -> tuple[RenderResult, NetworkIds]:
    """The render, and the network ids the cluster layer was given."""
    result = render_spec(spec_dict)
    return result, NetworkIds.from_outputs(result.stack_outputs)
