"""The stack program: what `pulumi up` runs for `stacks/` and what `tenancy render` runs offline.

It reads the `tenancy:platform` config object, validates it and builds the platform. Keep it
thin: everything else belongs in the library, so the render executes exactly this.
"""

from __future__ import annotations

import pulumi

from tenancy.components.platform import IN_CLUSTER_MODES, Platform
from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError


def main() -> Platform:
    data = pulumi.Config("tenancy").require_object("platform")
    try:
        spec = load_platform(data)
    except SpecError as exc:
        if _under_mocks():
            raise
        # A clean message, no traceback, before anything is registered.
        raise pulumi.RunError(str(exc)) from None
    in_cluster = pulumi.Config("tenancy").get("inCluster") or "platform"
    if in_cluster not in IN_CLUSTER_MODES:
        raise pulumi.RunError(f"tenancy:inCluster must be one of {list(IN_CLUSTER_MODES)}, got {in_cluster!r}; "
                              "fix it with `pulumi config set tenancy:inCluster tenant-stacks` (or `rm`)")
    platform = Platform(spec.name, spec, in_cluster=in_cluster)  # type: ignore[arg-type]
    for key, value in platform.outputs().items():
        pulumi.export(key, value)
    return platform


def _under_mocks() -> bool:
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor

    return isinstance(settings.SETTINGS.monitor, MockMonitor)


def tenant_stacks_main() -> None:
    """The per-tenant stacks' program (docs/scaling.md): the platform stack when neither
    ``tenancy:tenant`` nor ``tenancy:tenants`` (a list) is set, else those tenants' stack
    (:mod:`tenancy.components.tenant_stacks`).

    Config (namespace ``tenancy``): ``platform`` (the platform object) or ``platformFile`` (a JSON
    file holding it: what :func:`tenancy.fleet.tenants.deploy_tenants` writes once for all
    stacks); ``tenant``; ``kubeconfig`` (path or contents) or ``platformStack`` (the AWS platform
    stack, deployed with ``tenancy:inCluster: tenant-stacks``: its ``kubeconfig``, S3 ranges and
    per-tenant role ARNs / pod security groups are read by StackReference — then there is no
    separate platform stack here); ``adopt`` (true while switching an existing platform: the
    provider updates the objects in place, docs/scaling.md)."""
    import json
    from pathlib import Path

    import pulumi_kubernetes as k8s

    from tenancy.components.tenant_stacks import PlatformValues, platform_layer, tenant_layer

    cfg = pulumi.Config("tenancy")
    path = cfg.get("platformFile")
    data = json.loads(Path(path).read_text()) if path else cfg.require_object("platform")
    try:
        spec = load_platform(data)
    except SpecError as exc:
        raise pulumi.RunError(str(exc)) from None
    kubeconfig: pulumi.Input[str] | None = cfg.get("kubeconfig")
    values: PlatformValues | None = None
    if kubeconfig is None:
        ref = pulumi.StackReference(cfg.require("platformStack"))
        kubeconfig = ref.require_output("kubeconfig")  # type: ignore[assignment]
        values = PlatformValues.from_reference(ref)
    # tenancy:adopt: the objects exist (moved from the Platform stack, docs/scaling.md): update in place.
    provider = k8s.Provider("cluster", kubeconfig=kubeconfig, upsert_existing_objects=cfg.get_bool("adopt") or None)
    tenants = cfg.get_object("tenants") or ([cfg.get("tenant")] if cfg.get("tenant") else [])
    if not tenants:
        if values is not None:  # the AWS Platform stack holds the cluster-wide objects
            raise pulumi.RunError("with tenancy:platformStack the platform stack is that stack: run only tenant "
                                  "stacks (set tenancy:tenant or tenancy:tenants)")
        platform_layer(spec, provider)
        pulumi.export("platform", spec.name)
        return
    try:
        bundles = {str(t): tenant_layer(spec, str(t), provider, values) for t in tenants}
    except ValueError as exc:
        raise pulumi.RunError(str(exc)) from None
    pulumi.export("namespaces", {t: b.namespace_name for t, b in bundles.items()})
