"""Render the identity layer through the real Platform and Tenant wiring.

``cluster_identity_values`` gives the identity outputs the mocked cluster has (what the trust
policies must name), computed independently of the cluster layer's code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tenancy.render import RenderResult, render_spec
from tenancy.render.mocks import MockContext, _eks_cluster_core
from tenancy.spec import PlatformSpec
from tests.helpers.layers import owned_by

REGION = "eu-west-1"


def cluster_identity_values(spec: PlatformSpec, region: str = REGION) -> dict[str, str]:
    """The identity outputs the mocked cluster of ``spec`` has (plain strings)."""
    core = _eks_cluster_core(spec.name, MockContext(region=region))
    return {"oidc_provider_arn": core["oidcProviderArn"], "oidc_issuer": core["issuer"],
            "cluster_name": spec.name, "cluster_arn": core["arn"]}


def render_identity(platform: Mapping[str, Any]) -> RenderResult:
    """Render ``platform`` (a ``tenancy:platform`` dict) through the real program, keeping the
    identity layer's resources only (those under a ``tenancy:identity:*`` component): the other
    layers have their own keys, roles and buckets, which these tests must not mistake for ours."""
    full = render_spec(platform, config={"aws:region": REGION})
    return dataclasses.replace(full, resources=owned_by(full, "tenancy:identity:"))
