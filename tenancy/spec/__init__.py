"""The spec: one typed description of the platform (models with their secure defaults), the problems
it can have, and what follows from it alone — the address plan, derived names, the lifecycle rules
against the previous render, stack files and the generated reference.

Load untrusted input with :func:`tenancy.load_platform` (``tenancy.plan.validate``), which adds the
checks that need the plan (quotas, capacity) to the models' own.
"""

from __future__ import annotations

import warnings
from typing import Any

from tenancy.spec.errors import Problem, SpecError
from tenancy.spec.models import (
    SUPPORTED_KUBERNETES_VERSIONS,
    AllowFrom,
    ClusterSpec,
    EdgePort,
    FlowLogsSpec,
    IdentitySpec,
    IstioSpec,
    LimitsSpec,
    LogsSpec,
    NetworkSpec,
    NodePoolSpec,
    NodesSpec,
    Observability,
    PlatformSpec,
    QuotaSpec,
    RetiredTenant,
    SelfService,
    TenantSpec,
    WorkloadsSpec,
)

__all__ = ["SUPPORTED_KUBERNETES_VERSIONS", "AllowFrom", "ClusterSpec", "EdgePort", "FlowLogsSpec", "IdentitySpec",
           "IstioSpec", "LimitsSpec", "LogsSpec", "Observability", "NetworkSpec", "NodePoolSpec", "NodesSpec",
           "PlatformSpec", "Problem",
           "QuotaSpec",
           "RetiredTenant", "SelfService", "SpecError", "TenantSpec", "WorkloadsSpec"]


def __getattr__(name: str) -> Any:
    # Deprecated (0.2): ``tenancy.spec.load_platform`` moved to ``tenancy.plan.validate`` when the
    # spec became a package below the plan; use ``tenancy.load_platform``. Imported here on first use
    # only so that the spec never depends on the plan; removed in 0.3.
    if name == "load_platform":
        warnings.warn("tenancy.spec.load_platform moved: use tenancy.load_platform", DeprecationWarning, stacklevel=2)
        from tenancy.plan.validate import load_platform

        return load_platform
    raise AttributeError(f"module 'tenancy.spec' has no attribute {name!r}")
