"""tenancy: one Amazon EKS cluster for many tenants, with isolation you can prove.

    from tenancy import Platform, load_platform
    spec = load_platform(pulumi.Config().require_object("platform"))
    Platform(spec.name, spec)

The spec and the address plan import no Pulumi; the components are loaded on first use.

The package follows the pipeline, each stage importing only the ones before it (checked by
tests/test_layers.py): :mod:`tenancy.spec` (the typed description) → :mod:`tenancy.plan` (pure
derivations, capacity, :func:`load_platform`) → :mod:`tenancy.components` (Pulumi resources) and
:mod:`tenancy.review` (facts, reachability, operability, check, diff, policy pack) →
:mod:`tenancy.program` (the stack program) → :mod:`tenancy.render` (offline, under mocks) →
:mod:`tenancy.testing` → :mod:`tenancy.verify` (the live platform) → :mod:`tenancy.fleet` (cells) →
:mod:`tenancy.cli`.
"""

from __future__ import annotations

import importlib
from typing import Any

from tenancy import _moved
from tenancy._version import __version__
from tenancy.plan.validate import load_platform
from tenancy.spec import PlatformSpec, Problem, SpecError, TenantSpec
from tenancy.spec.addressing import AddressPlan

_COMPONENTS = {
    "Platform": "platform", "Tenant": "tenant", "TenantArgs": "tenant",
    "Network": "network", "TenantNetwork": "network", "TenantNetworkArgs": "network",
    "PoolNetwork": "network", "PoolNetworkArgs": "network", "PoolNodeGroup": "cluster", "PoolNodeGroupArgs": "cluster",
    "Cluster": "cluster", "ClusterArgs": "cluster", "TenantNodeGroup": "cluster", "TenantNodeGroupArgs": "cluster",
    "TenantAccess": "cluster", "TenantAccessArgs": "cluster", "PlacementPolicy": "cluster",
    "PlacementPolicyArgs": "cluster", "ServiceExposurePolicy": "cluster", "ServiceExposurePolicyArgs": "cluster",
    "DataBucket": "identity", "TenantIdentity": "identity", "TenantIdentityArgs": "identity",
    "ClusterIdentity": "identity",
    "TenantBundle": "bundle", "TenantBundleArgs": "bundle", "TenantPeering": "bundle",
    "TierPriorityClasses": "tiers", "TierPriorityClassesArgs": "tiers",
    "PlatformRef": "team", "TeamTenant": "team", "TeamTenantArgs": "team",
}
"""Public component classes, by the :mod:`tenancy.components` module that defines them (imported on
first use, so that ``import tenancy`` stays free of Pulumi)."""

__all__ = ["__version__", "AddressPlan", "PlatformSpec", "Problem", "SpecError", "TenantSpec", "load_platform",
           *_COMPONENTS]


def __getattr__(name: str) -> Any:
    module = _COMPONENTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tenancy' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tenancy.components.{module}"), name)


_moved.install()
