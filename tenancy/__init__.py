"""tenancy: one Amazon EKS cluster for many tenants, with isolation you can prove.

    from tenancy import Platform, load_platform
    spec = load_platform(pulumi.Config().require_object("platform"))
    Platform(spec.name, spec)

The spec and the address plan import no Pulumi; the components are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .addressing import AddressPlan
from .spec import PlatformSpec, Problem, SpecError, TenantSpec, load_platform

_COMPONENTS = {
    "Platform": "platform", "Tenant": "tenant", "TenantArgs": "tenant",
    "Network": "network", "TenantNetwork": "network", "TenantNetworkArgs": "network",
    "Cluster": "cluster", "ClusterArgs": "cluster", "TenantNodeGroup": "cluster", "TenantNodeGroupArgs": "cluster",
    "TenantAccess": "cluster", "TenantAccessArgs": "cluster", "PlacementPolicy": "cluster",
    "PlacementPolicyArgs": "cluster", "ServiceExposurePolicy": "cluster", "ServiceExposurePolicyArgs": "cluster",
    "DataBucket": "identity", "TenantIdentity": "identity", "TenantIdentityArgs": "identity",
    "ClusterIdentity": "identity",
    "TenantBundle": "bundle", "TenantBundleArgs": "bundle", "TenantPeering": "bundle",
    "TierPriorityClasses": "tiers", "TierPriorityClassesArgs": "tiers",
}

__all__ = ["__version__", "AddressPlan", "PlatformSpec", "Problem", "SpecError", "TenantSpec", "load_platform",
           *_COMPONENTS]


def __getattr__(name: str) -> Any:
    module = _COMPONENTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tenancy' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
