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
