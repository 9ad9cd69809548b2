"""Render the identity layer through the real Platform and Tenant wiring.

The cluster layer (which provides the OIDC provider, issuer and cluster name) is built in
parallel; until ``Platform`` sets ``cluster_identity`` itself, this helper supplies the cluster's
identity outputs exactly as the render mocks compute them for the platform's cluster, and
otherwise runs the unmodified ``Platform``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from tenancy.identity import ClusterIdentity
from tenancy.platform import Platform
from tenancy.render.engine import run_under_mocks, tenant_of
from tenancy.render.mocks import MockContext, _eks_cluster_core
from tenancy.render.result import RenderResult, _plain, _to_dict
from tenancy.spec import PlatformSpec, load_platform

REGION = "eu-west-1"


def cluster_identity_values(spec: PlatformSpec, region: str = REGION) -> dict[str, str]:
    """The identity outputs the mocked cluster of ``spec`` has (plain strings)."""
    core = _eks_cluster_core(spec.name, MockContext(region=region))
    return {"oidc_provider_arn": core["oidcProviderArn"], "oidc_issuer": core["issuer"],
            "cluster_name": spec.name, "cluster_arn": core["arn"]}


class _PlatformWithCluster(Platform):
    def __init__(self, name: str, spec: PlatformSpec, cluster: ClusterIdentity) -> None:
        self.cluster_identity = cluster  # what the cluster layer's block will set
        super().__init__(name, spec)


def render_identity(platform: Mapping[str, Any], *, with_cluster_arn: bool = True) -> RenderResult:
    """Render ``platform`` (a ``tenancy:platform`` dict) with the cluster's identity outputs."""
    spec = load_platform(platform)
    values = cluster_identity_values(spec)
    if not with_cluster_arn:
        values.pop("cluster_arn")

    def program() -> None:
        p = _PlatformWithCluster(spec.name, spec, ClusterIdentity(**values))
        for key, value in p.outputs().items():
            pulumi.export(key, value)

    regs, outputs = run_under_mocks(program, config={"aws:region": REGION})
    tenants = tenant_of(regs)
    return RenderResult(project="tenancy", stack="render", spec=spec,
                        resources=[_to_dict(r, tenants[r.urn]) for r in regs], stack_outputs=_plain(outputs))
