"""A minimal recording mock runtime for component tests (the lead's render harness does the
same for whole programs): runs a program under Pulumi's mocks and returns what was registered,
with the raw options (parent, dependencies, deletedWith, retainOnDelete) the stock mocks drop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import wait_for_rpcs


@dataclass
class Registered:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    deleted_with: str
    retain_on_delete: bool
    provider: str
    custom: bool


@dataclass
class Recording:
    resources: list[Registered] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def by_name(self, name: str, typ: str | None = None) -> Registered:
        hits = [r for r in self.resources if r.name == name and (typ is None or r.type == typ)]
        assert len(hits) == 1, f"{len(hits)} resources named {name!r}"
        return hits[0]

    def by_urn(self, urn: str) -> Registered:
        return next(r for r in self.resources if r.urn == urn)


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


class _Monitor(pmocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, recording: Recording):
        super().__init__(mocks)
        self.recording = recording

    def RegisterResource(self, request: Any) -> Any:
        resp = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recording.resources.append(Registered(
                urn=resp.urn, type=request.type, name=request.name,
                inputs=rpc.deserialize_properties(request.object),
                parent=request.parent, dependencies=list(request.dependencies),
                deleted_with=request.deletedWith, retain_on_delete=bool(request.retainOnDelete),
                provider=request.provider, custom=bool(request.custom)))
        return resp

    def SupportsFeature(self, request: Any) -> Any:
        # Resources travel as URN strings (pulumi/pulumi#6561: "attached to a different loop").
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)


def run(program: Callable[[], Any]) -> tuple[Recording, Any]:
    """Run ``program`` under mocks (not preview: applies run) and return what it registered and
    what it returned."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recording = Recording()
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False, monitor=_Monitor(mocks, recording))
    try:
        result = program()
        loop.run_until_complete(wait_for_rpcs())
        return recording, result
    finally:
        pulumi.runtime.settings.reset_options()
        loop.close()
        asyncio.set_event_loop(None)
