"""Tiers: the platform's PriorityClasses ``tenancy-premium`` and ``tenancy-standard``.

Cluster-scoped and owned by the platform (no tenant persona may write PriorityClasses); each
tenant's ``tenancy-tier`` ResourceQuota admits only its own tier's class (rules, values and the
behaviour of pods that name no class: :func:`tenancy.plan.kubernetes.tier_quota` and
:func:`tenancy.plan.kubernetes.priority_classes`; docs/bundle.md, "Tiers")::

    from tenancy.components.tiers import TierPriorityClasses, TierPriorityClassesArgs
    tiers = TierPriorityClasses("tiers", TierPriorityClassesArgs(provider=provider))
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from tenancy.plan import kubernetes as plan

__all__ = ["TierPriorityClasses", "TierPriorityClassesArgs"]


@dataclass(frozen=True)
class TierPriorityClassesArgs:
    """Inputs of :class:`TierPriorityClasses`."""

    provider: pulumi.ProviderResource | None = None
    """The cluster's Kubernetes provider (``Cluster.provider``). Default: inherited from the parent."""


class TierPriorityClasses(pulumi.ComponentResource):
    """The two tier PriorityClasses (``tenancy:cluster:TierPriorityClasses``), one set per cluster.

    Attributes: ``classes``: tier (``premium``/``standard``) -> ``k8s.scheduling.v1.PriorityClass``;
    ``manifests``: the plain objects registered."""

    def __init__(self, name: str, args: TierPriorityClassesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:cluster:TierPriorityClasses", name, None, opts)
        self.manifests = plan.priority_classes()
        self.classes: dict[str, k8s.scheduling.v1.PriorityClass] = {}
        for tier, m in zip(plan.TIERS, self.manifests, strict=True):
            self.classes[tier] = k8s.scheduling.v1.PriorityClass(
                f"{name}-{tier}", metadata=m["metadata"], value=m["value"], global_default=m["globalDefault"],
                preemption_policy=m["preemptionPolicy"], description=m["description"],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider))
        self.register_outputs({})
