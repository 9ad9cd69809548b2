"""Render cost against the Pulumi SDK's own cost for the same resources, in one run:
`python benchmarks/render_vs_sdk.py [TENANTS ...]` (default 5 25).

For each tenant count it measures, in this process:

* **render**: what `tenancy render` does — the stack program under the mock engine, then
  resources.json, manifests/ and report.md written to a temporary folder;
* **sdk**: the floor — a flat program registering the very same resources (same types, names,
  parents and input values; an input holding another resource's id gets that resource's ``id``
  Output, so the SDK wires the same dependencies) under the SDK's stock ``MockMonitor`` and a
  mock that echoes inputs; no invokes, no typed argument classes, no apply chains of our own,
  nothing written. It runs under the same process settings as the render
  (:func:`tenancy.render.engine.render_runtime`: no stack walk per registration, the render's
  garbage-collector thresholds), so that the ratio compares like with like;
* **sdk stock**: the same floor under the SDK's and CPython's defaults (for reference: what the
  floor costs a program that does not change them);
* **diff**: `tenancy diff` of this render against the same platform with one more tenant.

and prints the ratio render/sdk (target: at most 1.5), the ratio render/sdk stock, the diff time
(target: a few seconds) and resources and render milliseconds per tenant (flat as the count grows).

``--pooled``: platforms mixing dedicated and pooled tenants (issue 13; tests/fixtures/pools.py),
e.g. ``python benchmarks/render_vs_sdk.py --pooled 50 200``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

sys.path.insert(0, str(Path(__file__).parent))
from render_scaling import platform, pooled_platform  # noqa: E402

from tenancy.diff import diff_renders, load_render  # noqa: E402
from tenancy.render import render_spec, write_render  # noqa: E402
from tenancy.render.engine import render_runtime  # noqa: E402


class _Echo(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        return {}, []


def _sdk_floor(resources: list[dict[str, Any]], *, like_render: bool = True) -> float:
    """Register ``resources`` (a render's) as a flat program under the stock mock monitor, under
    the render's process settings (``like_render``) or the defaults."""
    if like_render:
        with render_runtime():
            return _sdk_floor(resources, like_render=False)
    order = {r["urn"]: i for i, r in enumerate(resources)}
    text = {r["urn"]: json.dumps(r["inputs"]) for r in resources}
    referenced = {str(r["id"]) for r in resources if r.get("id") and any(
        f'"{r["id"]}"' in t for u, t in text.items() if u != r["urn"])}
    by_urn = {r["urn"]: r for r in resources}

    def depth(r: dict[str, Any]) -> int:
        d, cur = 0, r.get("parent")
        while cur in by_urn:
            d, cur = d + 1, by_urn[cur].get("parent")
        return d

    ordered = sorted(resources, key=lambda r: (depth(r), order[r["urn"]]))
    # referenced resources first, so that their id Outputs exist when a referrer is registered
    ordered = sorted(ordered, key=lambda r: 0 if r.get("id") in referenced else 1)

    ids = {str(r["id"]): r["urn"] for r in resources if r.get("id") and r["custom"]}

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
            opts = pulumi.ResourceOptions(parent=parent)
            if r["custom"]:
                made[r["urn"]] = pulumi.CustomResource(r["type"], r["name"], wire(dict(r["inputs"])), opts)
            else:
                made[r["urn"]] = pulumi.ComponentResource(r["type"], r["name"], None, opts)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi_mocks.set_mocks(_Echo(), project="bench", stack="sdk", preview=False)
        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        started = time.perf_counter()
        _sync_await(run_pulumi_func(program))
        return time.perf_counter() - started
    finally:
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()


def main(counts: list[int], repeat: int = 2, pooled: bool = False) -> None:
    """Times are CPU seconds of this process (the machine may be shared; wall time in brackets),
    the best of ``repeat`` runs each."""
    make = pooled_platform if pooled else platform
    warm = make(7 if pooled else 1)
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports and first-use caches, not measured
        write_render(render_spec(warm, stack="bench"), Path(tmp) / "warm")
        _sdk_floor(render_spec(warm, stack="bench").resources)
    print(f"{'tenants':>8} {'resources':>10} {'render s':>16} {'sdk s':>16} {'ratio':>6} "
          f"{'sdk stock s':>16} {'ratio':>6} {'diff s':>16} {'res/tenant':>10} {'ms/tenant':>9}")
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            t_render = w_render = t_sdk = w_sdk = t_stock = w_stock = float("inf")
            for _ in range(repeat):
                gc.collect()
                cpu, wall = time.process_time(), time.perf_counter()
                result = render_spec(make(n), stack="bench")
                write_render(result, Path(tmp) / "base")
                t_render, w_render = min(t_render, time.process_time() - cpu), min(w_render, time.perf_counter() - wall)
                gc.collect()
                cpu, wall = time.process_time(), time.perf_counter()
                _sdk_floor(result.resources)
                t_sdk, w_sdk = min(t_sdk, time.process_time() - cpu), min(w_sdk, time.perf_counter() - wall)
                gc.collect()
                cpu, wall = time.process_time(), time.perf_counter()
                _sdk_floor(result.resources, like_render=False)
                t_stock, w_stock = min(t_stock, time.process_time() - cpu), min(w_stock, time.perf_counter() - wall)
            write_render(render_spec(make(n + 1), stack="bench"), Path(tmp) / "head")
            gc.collect()  # like the render and the floor, the diff does not pay for earlier garbage
            cpu, wall = time.process_time(), time.perf_counter()
            diff_renders(load_render(Path(tmp) / "base"), load_render(Path(tmp) / "head"))
            t_diff, w_diff = time.process_time() - cpu, time.perf_counter() - wall
        per_tenant = sum(r["tenant"] is not None for r in result.resources) / max(n, 1)
        print(f"{n:>8} {len(result.resources):>10} {t_render:>7.2f} ({w_render:>6.2f}) {t_sdk:>7.2f} ({w_sdk:>6.2f}) "
              f"{t_render / t_sdk:>6.2f} {t_stock:>7.2f} ({w_stock:>6.2f}) {t_render / t_stock:>6.2f} "
              f"{t_diff:>7.2f} ({w_diff:>6.2f}) {per_tenant:>10.1f} {1000 * t_render / max(n, 1):>9.1f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    pooled = "--pooled" in args
    counts = [int(a) for a in args if a != "--pooled"]
    main(counts or ([50, 200] if pooled else [5, 25]), pooled=pooled)
