"""The account-quota counts against what the real stack program registers (the render)."""

from __future__ import annotations

import pytest

from tenancy.plan.capacity import platform_oidc_providers, platform_roles
from tenancy.plan.validate import load_platform
from tenancy.render import render_spec
from tests.fixtures.specs import spec_with, tenant

ROLES_INSIDE_EKS_COMPONENT = 1
"""The EKS cluster service role: pulumi-eks creates it inside eks:index:Cluster (a remote
component, so the mock render has no children for it); tenancy passes no serviceRole."""


@pytest.mark.parametrize("overrides", [
    {},
    {"network": {"flowLogs": {"destination": "s3"}}},
    {"identity": {"mode": "podIdentity"}},
])
def test_role_and_oidc_counts_match_the_render(overrides):
    platform = spec_with([tenant("a", 0, serviceAccounts=["x", "y"]), tenant("b", 1),
                          tenant("c", 2, serviceAccounts=["z"])], **overrides)
    result = render_spec(platform, stack="quota")
    roles = result.of_type("aws:iam/role:Role")
    assert platform_roles(load_platform(platform)) == len(roles) + ROLES_INSIDE_EKS_COMPONENT
    # the OIDC provider is created by the eks component (createOidcProvider), in every mode
    eks = result.of_type("eks:index:Cluster")
    assert len(eks) == 1 and eks[0]["inputs"]["createOidcProvider"] is True
    assert platform_oidc_providers(load_platform(platform)) == 1
