"""The stack program: what `pulumi up` runs for `stacks/` and what `tenancy render` runs offline.

It reads the `tenancy:platform` config object, validates it and builds the platform. Keep it
thin: everything else belongs in the library, so the render executes exactly this.
"""

from __future__ import annotations

import pulumi

from tenancy.components.platform import Platform
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
    platform = Platform(spec.name, spec)
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
    stacks); ``tenant``; ``kubeconfig`` (path or contents) or ``platformStack`` (a stack whose
    ``kubeconfig`` output is read by StackReference: the AWS platform stack)."""
    import json
    from pathlib import Path

    import pulumi_kubernetes as k8s

    from tenancy.components.tenant_stacks import platform_layer, tenant_layer

    cfg = pulumi.Config("tenancy")
    path = cfg.get("platformFile")
    data = json.loads(Path(path).read_text()) if path else cfg.require_object("platform")
    try:
        spec = load_platform(data)
    except SpecError as exc:
        raise pulumi.RunError(str(exc)) from None
    kubeconfig: pulumi.Input[str] | None = cfg.get("kubeconfig")
    if kubeconfig is None:
        ref = pulumi.StackReference(cfg.require("platformStack"))
        kubeconfig = ref.require_output("kubeconfig")  # type: ignore[assignment]
    provider = k8s.Provider("cluster", kubeconfig=kubeconfig)
    tenants = cfg.get_object("tenants") or ([cfg.get("tenant")] if cfg.get("tenant") else [])
    if not tenants:
        platform_layer(spec, provider)
        pulumi.export("platform", spec.name)
        return
    try:
        bundles = {str(t): tenant_layer(spec, str(t), provider) for t in tenants}
    except ValueError as exc:
        raise pulumi.RunError(str(exc)) from None
    pulumi.export("namespaces", {t: b.namespace_name for t, b in bundles.items()})
