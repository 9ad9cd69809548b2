"""Run the stack program in-process under Pulumi's mock runtime and record the resource graph.

This is what ``tenancy render`` and the tests use. The program is the very function
``pulumi up`` runs (:func:`tenancy.program.main`); only the engine is swapped for mocks.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tenancy.plan.validate import load_platform
from tenancy.render.mocks import TenancyMocks
from tenancy.spec import PlatformSpec, SpecError
from tenancy.spec.wire import TENANT_OWNER_TYPES as TENANT_OWNERS

"""Components that stand for one tenant (named after it): a standalone bundle, or a team
stack's tenant, attributes its children like the platform's Tenant does."""


class RenderError(RuntimeError):
    """The program failed under the mock engine (not an invalid spec: that is SpecError)."""


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    protect: bool
    retain_on_delete: bool
    deleted_with: str | None
    dependencies: list[str]
    provider: str | None
    inputs: dict[str, Any]
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[dict[str, str]] = field(default_factory=list)
    """The aliases declared (name, type, parentUrn — empty when not set)."""
    id: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps what the stock one drops: parent, protect, retainOnDelete,
    deletedWith, dependencies and the provider of every registration.

    It also declines resource references, so resources travel as URNs between resources: this
    avoids the "attached to a different loop" failures of pulumi/pulumi#6561.
    """

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: dict[str, Registration] = {}
        self.duplicates: list[str] = []

    def GetDeploymentInfo(self, request):  # noqa: N802 - gRPC method name
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures
                    if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def SupportsFeature(self, request):  # noqa: N802
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)

    def RegisterResource(self, request):  # noqa: N802
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        pulumi_mocks._ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        args = pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
        )
        id_, state = self.mocks.new_resource(args)
        if urn in self.registrations:
            self.duplicates.append(urn)
        self.registrations[urn] = Registration(
            urn=urn, type=request.type, name=request.name, parent=request.parent or None,
            custom=bool(request.custom), protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete), deleted_with=request.deletedWith or None,
            dependencies=sorted(set(request.dependencies)), provider=request.provider or None,
            inputs=inputs, ignore_changes=sorted(request.ignoreChanges), id=id_, outputs=state,
            aliases=[{"urn": a.urn} if a.urn else {"name": a.spec.name, "type": a.spec.type,
                                                    "parentUrn": a.spec.parentUrn}
                     for a in request.aliases],
        )
        obj = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj)


@dataclass
class RunResult:
    spec: PlatformSpec
    project: str
    stack: str
    registrations: list[Registration]
    stack_outputs: dict[str, Any]


def run_program(
    platform: Mapping[str, Any],
    *,
    project: str = "tenancy",
    stack: str = "render",
    config: Mapping[str, Any] | None = None,
    on_resource: Callable[[], None] | None = None,
) -> RunResult:
    """Validate ``platform`` (raises SpecError), then run the stack program under mocks.

    ``config`` holds the other stack config keys (``aws:region`` …), as in a stack file.
    """
    spec = load_platform(platform)
    from tenancy.components.platform import whole_platform
    from tenancy.program import main as program_main  # the same function `pulumi up` runs

    all_config = dict(config or {})
    all_config["tenancy:platform"] = platform
    # tenancy:inCluster=tenant-stacks moves the bundles to other stacks, not out of the platform:
    # the render shows them all (the tenant stacks register the same objects).
    with whole_platform():
        regs, outputs = run_under_mocks(program_main, project=project, stack=stack, config=all_config,
                                        on_resource=on_resource)
    return RunResult(spec=spec, project=project, stack=stack, registrations=regs, stack_outputs=outputs)


def run_under_mocks(
    program: Callable[[], object],
    *,
    project: str = "tenancy",
    stack: str = "render",
    config: Mapping[str, Any] | None = None,
    on_resource: Callable[[], None] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> tuple[list[Registration], dict[str, Any]]:
    """Run any Pulumi program function under the mock engine, on a fresh event loop, and
    return every registration (sorted by URN) and the stack outputs. Settings and config are
    reset afterwards, so runs never leak into each other. ``mocks`` replaces the render's
    :class:`TenancyMocks` (``on_resource`` is then ignored)."""
    config = dict(config or {})
    region = str(config.get("aws:region", "eu-west-1"))
    all_config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    all_config.setdefault("aws:region", region)

    with render_runtime():
        return _run_under_mocks(program, project=project, stack=stack, mocks=mocks, on_resource=on_resource,
                                region=region, all_config=all_config)


RENDER_GC_THRESHOLD = (10_000, 50, 100)
"""The cyclic garbage collector's thresholds while a program runs under the mock engine."""


@contextmanager
def quiet_gc() -> Iterator[None]:
    """The cyclic garbage collector's thresholds raised to :data:`RENDER_GC_THRESHOLD` (never
    lowered; a caller that turned automatic collection off keeps it off), restored on exit.

    A render keeps every resource, Output and pending task of the program alive until the
    program ends, then its records, on top of the provider SDKs' hundreds of thousands of
    imported objects. With CPython's default thresholds (700, 10, 10) a full collection runs
    every ~70,000 allocations and walks all of them: for 25 tenants that was half of a render's
    CPU time, reclaiming almost nothing. With (10000, 50, 100) the young generations are still
    collected (peak memory of a 25-tenant render: +8 MB; 100 tenants: no more than before) and
    full collections stop."""
    old = gc.get_threshold()
    if old[0] > 0:
        gc.set_threshold(*(max(a, b) for a, b in zip(RENDER_GC_THRESHOLD, old, strict=False)))
    try:
        yield
    finally:
        gc.set_threshold(*old)


@contextmanager
def render_runtime() -> Iterator[None]:
    """The two process settings a render changes while the program runs under the mock engine
    (restored on exit); ``benchmarks/render_vs_sdk.py`` runs its SDK floor under them too, so
    that its ratio compares like with like.

    * No stack walk per registration: the SDK walks the Python stack of every registration
      (``traceback.extract_stack``) to tell the engine where the resource was declared, for its
      diagnostics. The mock engine shows no diagnostics, and the walk was a third of a render.
    * :func:`quiet_gc`.
    """
    stack_trace = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = _no_stack_trace  # type: ignore[assignment]
    try:
        with quiet_gc():
            yield
    finally:
        pulumi_resource._get_stack_trace = stack_trace  # type: ignore[assignment]


def _run_under_mocks(
    program: Callable[[], object], *, project: str, stack: str,
    on_resource: Callable[[], None] | None, mocks: pulumi.runtime.Mocks | None, region: str,
    all_config: dict[str, str],
) -> tuple[list[Registration], dict[str, Any]]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = mocks if mocks is not None else TenancyMocks(region=region, on_resource=on_resource)
    monitor = RecordingMonitor(mocks)
    outputs: dict[str, Any] = {}
    try:
        pulumi.runtime.set_all_config(all_config)
        pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        root = settings.get_root_resource()

        def run() -> None:
            program()

        try:
            _sync_await(run_pulumi_func(run))
            if root is not None:
                outputs = _sync_await(_resolve(getattr(root, "outputs", {})))
        except Exception as exc:
            if isinstance(exc, SpecError):
                raise
            raise RenderError(f"the program failed under the mock engine: {_root_cause(exc)}") from exc
        if monitor.duplicates:
            raise RenderError(
                "duplicate resource URNs (the real engine refuses these): " + ", ".join(sorted(monitor.duplicates)))
    except BaseException:
        _finish_pending(loop)
        raise
    finally:
        settings.reset_options()
        pulumi.runtime.set_all_config({})
        asyncio.set_event_loop(None)
        loop.close()
    return sorted(monitor.registrations.values(), key=lambda r: r.urn), outputs


def _finish_pending(loop: asyncio.AbstractEventLoop) -> None:
    """After a failed program: cancel what it left pending on its loop and let that unwind, and
    mark the failed futures' exceptions as retrieved (the run's error already names the cause).
    Otherwise the garbage collector meets them later, at a random point of the process, and logs
    "Task was destroyed but it is pending!" / "Future exception was never retrieved" with a
    formatted traceback — which under CPython 3.11 parses source (``ast``) for its carets: when
    that collection fell inside another ``ast.parse`` (pytest's assertion rewriting of a later
    import), the ast module's per-interpreter recursion counter broke and the outer parse raised
    "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905)."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for obj in gc.get_objects():  # only on failure: a walk of the heap is cheap next to a failed run
        if isinstance(obj, asyncio.Future) and obj.done() and not obj.cancelled() and obj.get_loop() is loop:
            obj.exception()


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost cause of ``exc``: Pulumi wraps an error raised while serializing an input in
    "While processing input/resource …" errors; the message the user needs is the original one."""
    seen: set[int] = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return exc


async def _resolve(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[key] = await pulumi.Output.from_input(value).future()
    return out


def tenant_of(registrations: list[Registration]) -> dict[str, str | None]:
    """Each resource's tenant: the name of the nearest ``tenancy:index:Tenant`` ancestor (itself
    included), or None for shared platform resources."""
    by_urn = {r.urn: r for r in registrations}
    memo: dict[str, str | None] = {}

    def find(urn: str) -> str | None:
        if urn in memo:
            return memo[urn]
        chain: list[str] = []
        found: str | None = None
        cur: str | None = urn
        while cur is not None and cur in by_urn:
            if cur in memo:
                found = memo[cur]
                break
            chain.append(cur)
            r = by_urn[cur]
            if r.type in TENANT_OWNERS:
                found = r.name
                break
            cur = r.parent
        for c in chain:
            memo[c] = found
        return found

    return {r.urn: find(r.urn) for r in registrations}
