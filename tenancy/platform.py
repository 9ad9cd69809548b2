"""The platform: the one place that knows every layer. It builds them from a spec and wires the
outputs of one layer into the next (network → cluster → identity → per-tenant bundle)."""

from __future__ import annotations

import pulumi

from .spec import PlatformSpec
from .tenant import Tenant, TenantArgs

TYPE = "tenancy:index:Platform"


class Platform(pulumi.ComponentResource):
    """A whole multi-tenant EKS platform from one validated :class:`PlatformSpec`.

    Use :func:`tenancy.load_platform` to build the spec from config: it rejects every invalid
    input, with its path and the fix, before anything is registered.
    """

    def __init__(self, name: str, spec: PlatformSpec, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self.spec = spec
        child = pulumi.ResourceOptions(parent=self)
        # --- network layer ---
        # --- cluster layer ---
        # --- identity layer ---
        self.tenants: dict[str, Tenant] = {}
        for t in spec.tenants:
            self.tenants[t.name] = Tenant(t.name, TenantArgs(platform=spec, tenant=t), opts=child)
        # Edges after every tenant exists: tenant X's allowFrom [Y] is owned by X.
        for t in spec.tenants:
            for peer in t.allow_from:
                self.tenants[t.name].allow_from(self.tenants[peer])
        self.register_outputs({})

    def outputs(self) -> dict[str, pulumi.Input[object]]:
        """The stack outputs other stacks need (see README, "Stack outputs")."""
        return {
            "platformName": self.spec.name,
            "tenants": {name: t.outputs() for name, t in sorted(self.tenants.items())},
        }
