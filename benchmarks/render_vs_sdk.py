"""Render cost against the Pulumi SDK's own cost for the same resources, in one run:
`python benchmarks/render_vs_sdk.py [TENANTS ...]` (default 5 25).

For each tenant count it measures, in this process (CPU seconds, the best of 15 interleaved runs up
to 10 tenants, of 7 above; ``--repeat N`` to choose):

* **render**: what `tenancy render` does — the stack program under the mock engine, then
  resources.json, manifests/ and report.md written to a temporary folder;
* three floors, each a flat program registering the very same resources (same types, names,
  parents and input values; an input holding another resource's id gets that resource's ``id``
  Output, so the SDK wires the same dependencies) under the SDK's stock ``MockMonitor`` and a mock
  that echoes inputs; no invokes, no apply chains of our own, nothing written:

  - **typed sdk** (the target's floor): each resource through its provider SDK class
    (``pulumi_aws.ec2.SecurityGroup(...)``, ``pulumi_kubernetes.core.v1.Namespace(...)`` with the
    render's Kubernetes provider, ``pulumi_eks.Cluster(...)``), as a program declaring these
    resources by hand would, under the render's process settings
    (:func:`tenancy.render.engine.render_runtime`: no stack walk per registration, the render's
    garbage-collector thresholds);
  - **plain sdk**: plain ``pulumi.CustomResource``s (no typed classes, no built-in aliases), same
    settings — stricter than any real program;
  - **plain stock**: the plain floor under the SDK's and CPython's defaults;

* **diff**: `tenancy diff` of this render against the same platform with one more tenant.

and prints each ratio render/floor (target: at most 1.5 against the typed floor), the diff time
(target: a few seconds) and resources and render milliseconds per tenant (flat as the count grows).
tests/render/test_benchmark_floor.py checks that the floors register the render's resources.

``--pooled``: platforms mixing dedicated and pooled tenants (issue 13; tests/fixtures/pools.py),
e.g. ``python benchmarks/render_vs_sdk.py --pooled 50 200``.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import inspect
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

sys.path.insert(0, str(Path(__file__).parent))
from render_scaling import platform, pooled_platform  # noqa: E402

from tenancy.render import render_spec, write_render  # noqa: E402
from tenancy.render.engine import render_runtime  # noqa: E402
from tenancy.review.diff import diff_renders, load_render  # noqa: E402


class _Echo(pulumi.runtime.Mocks):
    """Echoes inputs as outputs; keeps ``(type, name, inputs)`` of every registration it saw
    when ``record`` (tests check that a floor registers the render's resources)."""

    def __init__(self, record: bool = False):
        self.seen: list[tuple[str, str, dict[str, Any]]] | None = [] if record else None
        self.urns: list[str] = []
        """The URNs the monitor registered (when ``record``)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if self.seen is not None:
            self.seen.append((args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        return {}, []


_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "eks": "pulumi_eks"}


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


@functools.cache
def _typed_class(token: str) -> tuple[type, dict[str, str]] | None:
    """The provider SDK's class for a type token, and its inputs' names (camelCase → keyword),
    e.g. ``aws:ec2/securityGroup:SecurityGroup`` → ``pulumi_aws.ec2.SecurityGroup``,
    ``kubernetes:networking.k8s.io/v1:NetworkPolicy`` → ``pulumi_kubernetes.networking.v1.NetworkPolicy``."""
    package, module, name = token.split(":")
    if package == "pulumi" and module == "providers":
        package, module, name = name, "index", "Provider"
    if package not in _PACKAGES:
        return None
    path = [] if module.startswith("index") else [m.split(".")[0] for m in module.split("/")[:2]]
    if package == "aws":
        path = path[:1]  # aws:ec2/securityGroup:SecurityGroup lives in pulumi_aws.ec2
    try:
        mod = importlib.import_module(".".join([_PACKAGES[package], *path]))
    except ModuleNotFoundError:
        return None  # a Kubernetes kind the SDK has no class for (a CRD's: see _custom_kind)
    cls = getattr(mod, name, None)
    if cls is None:
        return None
    params = inspect.signature(cls._internal_init).parameters
    return cls, {_camel(p): p for p in params if p not in ("__self__", "resource_name", "opts", "__props__")}


def _custom_kind(name: str, inputs: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """A kind pulumi_kubernetes has no class for (a CRD's, e.g. ``SecurityGroupPolicy``), as a
    program declares it: ``pulumi_kubernetes.apiextensions.CustomResource``."""
    import pulumi_kubernetes as k8s

    rest = {k: v for k, v in inputs.items() if k not in ("apiVersion", "kind", "metadata")}
    return k8s.apiextensions.CustomResource(name, api_version=inputs["apiVersion"], kind=inputs["kind"],
                                            metadata=inputs.get("metadata"), opts=opts, **rest)


def _creation_order(resources: list[dict[str, Any]], ids: dict[str, str]) -> list[dict[str, Any]]:
    """``resources`` so that every resource comes after its parent and after every resource whose
    id its inputs hold (a resource must exist to be a parent or to hand out its ``id`` Output),
    otherwise in the render's order."""
    by_urn = {r["urn"]: r for r in resources}

    def held(v: Any) -> Iterator[str]:
        if isinstance(v, str) and v in ids:
            yield ids[v]
        elif isinstance(v, dict):
            for x in v.values():
                yield from held(x)
        elif isinstance(v, list):
            for x in v:
                yield from held(x)

    out: list[dict[str, Any]] = []
    done: set[str] = set()

    def visit(urn: str) -> None:
        if urn in done or urn not in by_urn:
            return
        done.add(urn)
        r = by_urn[urn]
        visit(r.get("parent") or "")
        for dep in held(r["inputs"]):
            if dep != urn:
                visit(dep)
        out.append(r)

    for r in resources:
        visit(r["urn"])
    return out


def _sdk_floor(resources: list[dict[str, Any]], *, like_render: bool = True, typed: bool = False,
               mocks: _Echo | None = None) -> float:
    """Register ``resources`` (a render's) as a flat program under the stock mock monitor, under
    the render's process settings (``like_render``) or the defaults.

    ``typed``: through the provider SDKs' own classes (``pulumi_aws.ec2.SecurityGroup(...)``,
    ``pulumi_kubernetes.core.v1.Namespace(...)``, with the render's provider passed to each
    Kubernetes resource), as a program written by hand would declare them; otherwise as plain
    ``CustomResource`` objects with the same type tokens."""
    if like_render:
        with render_runtime():
            return _sdk_floor(resources, like_render=False, typed=typed, mocks=mocks)
    ids = {str(r["id"]): r["urn"] for r in resources if r.get("id") and r["custom"]}
    ordered = _creation_order(resources, ids)

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}

        def wire(v: Any) -> Any:
            if isinstance(v, str) and v in ids and isinstance(made.get(ids[v]), pulumi.CustomResource):
                return made[ids[v]].id  # type: ignore[attr-defined]
            if isinstance(v, dict):
                return {k: wire(x) for k, x in v.items()}
            if isinstance(v, list):
                return [wire(x) for x in v]
            return v

        for r in ordered:
            parent = made.get(r.get("parent") or "")
            provider = made.get((r.get("provider") or "").rpartition("::")[0]) if typed else None
            opts = pulumi.ResourceOptions(parent=parent, provider=provider)
            found = _typed_class(r["type"]) if typed else None
            if found and set(r["inputs"]) <= set(found[1]):
                cls, names = found
                made[r["urn"]] = cls(r["name"], opts, **{names[k]: wire(v) for k, v in r["inputs"].items()})
            elif typed and r["type"].startswith("kubernetes:") and {"apiVersion", "kind"} <= set(r["inputs"]):
                made[r["urn"]] = _custom_kind(r["name"], wire(dict(r["inputs"])), opts)
            elif typed and r["custom"]:
                raise ValueError(f"no provider SDK class takes the inputs of {r['type']}: {sorted(r['inputs'])}")
            elif r["custom"]:
                made[r["urn"]] = pulumi.CustomResource(r["type"], r["name"], wire(dict(r["inputs"])), opts)
            else:
                made[r["urn"]] = pulumi.ComponentResource(r["type"], r["name"], None, opts)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi_mocks.set_mocks(mocks or _Echo(), project="bench", stack="sdk", preview=False)
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        started = time.perf_counter()
        _sync_await(run_pulumi_func(program))
        took = time.perf_counter() - started
        if mocks is not None and mocks.seen is not None:
            mocks.urns = sorted(settings.SETTINGS.monitor.resources)  # type: ignore[union-attr]
        return took
    finally:
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()


def _render_once(spec: Any, out: Path) -> None:
    write_render(render_spec(spec, stack="bench"), out)


def _timed(fn: Any) -> tuple[float, float]:
    """CPU and wall seconds of ``fn()``, after a collection (no run pays for earlier garbage)."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def default_repeat(tenants: int) -> int:
    """Runs per column: the minimum of many runs estimates a cost without the shared machine's
    noise (±30% between single runs here); small platforms are cheap to repeat."""
    return 15 if tenants <= 10 else 7


def main(counts: list[int], repeat: int | None = None, pooled: bool = False) -> None:
    """Times are CPU seconds of this process (the machine may be shared; wall time in brackets),
    the best of ``repeat`` interleaved runs each (default: :func:`default_repeat`)."""
    make = pooled_platform if pooled else platform
    warm = make(7 if pooled else 1)
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports and first-use caches, not measured
        write_render(render_spec(warm, stack="bench"), Path(tmp) / "warm")
        _sdk_floor(render_spec(warm, stack="bench").resources)
        _sdk_floor(render_spec(warm, stack="bench").resources, typed=True)
    columns = ("typed sdk", "plain sdk", "plain stock")
    print(f"{'tenants':>8} {'resources':>10} {'render s':>16} "
          + " ".join(f"{c + ' s':>16} {'ratio':>6}" for c in columns)
          + f" {'paired':>6} {'diff s':>16} {'res/tenant':>10} {'ms/tenant':>9}")
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            best: dict[str, tuple[float, float]] = {}
            paired: list[float] = []  # render / typed floor of the same round (adjacent runs)
            result = render_spec(make(n), stack="bench")
            res = result.resources
            runs = {
                "render": functools.partial(_render_once, make(n), Path(tmp) / "base"),
                "typed sdk": functools.partial(_sdk_floor, res, typed=True),
                "plain sdk": functools.partial(_sdk_floor, res),
                "plain stock": functools.partial(_sdk_floor, res, like_render=False),
            }
            for _ in range(repeat or default_repeat(n)):
                this: dict[str, float] = {}
                for key, fn in runs.items():
                    cpu, wall = _timed(fn)
                    this[key] = cpu
                    old = best.get(key, (float("inf"), float("inf")))
                    best[key] = (min(old[0], cpu), min(old[1], wall))
                paired.append(this["render"] / this["typed sdk"])
            write_render(render_spec(make(n + 1), stack="bench"), Path(tmp) / "head")
            best["diff"] = _timed(lambda: diff_renders(load_render(Path(tmp) / "base"),
                                                       load_render(Path(tmp) / "head")))
        per_tenant = sum(r["tenant"] is not None for r in result.resources) / max(n, 1)
        t_render, w_render = best["render"]
        cells = " ".join(f"{best[c][0]:>7.2f} ({best[c][1]:>6.2f}) {t_render / best[c][0]:>6.2f}" for c in columns)
        print(f"{n:>8} {len(result.resources):>10} {t_render:>7.2f} ({w_render:>6.2f}) {cells} "
              f"{statistics.median(paired):>6.2f} "
              f"{best['diff'][0]:>7.2f} ({best['diff'][1]:>6.2f}) {per_tenant:>10.1f} "
              f"{1000 * t_render / max(n, 1):>9.1f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    pooled = "--pooled" in args
    repeat = None
    if "--repeat" in args:
        i = args.index("--repeat")
        repeat = int(args[i + 1])
        del args[i:i + 2]
    counts = [int(a) for a in args if a != "--pooled"]
    main(counts or ([50, 200] if pooled else [5, 25]), repeat=repeat, pooled=pooled)
