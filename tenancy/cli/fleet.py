"""``tenancy fleet plan|render|preview|up``.

    tenancy fleet plan FLEET --stacks-dir DIR [--check]
    tenancy fleet render FLEET --stacks-dir DIR --out OUT [--parallel N]
    tenancy fleet preview FLEET --stacks-dir DIR [--parallel N]
    tenancy fleet up FLEET --stacks-dir DIR [--parallel N] [--retries N]

Exit codes: 0 success; 2 invalid fleet or a placement that cannot fit (every problem printed,
naming the limit), or stack files out of date with the fleet (render/preview/up: run
``plan`` first); 1 a cell failed to render or deploy (the failed cells are named), or
``plan --check`` found a stack file that would change.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tenancy.cli.common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, print_problems, unexpected
from tenancy.spec import Problem, SpecError


def add_parser(sub: Any) -> None:
    """Register ``fleet`` on the top-level ``tenancy`` sub-parsers."""
    fleet = sub.add_parser("fleet", help="cells: plan, render and deploy many platforms from one fleet file")
    ops = fleet.add_subparsers(dest="fleet_command", required=True)
    helps = {
        "plan": "place tenants into cells and write DIR/Pulumi.<cell>.yaml (stable: placed tenants never move)",
        "render": "render every cell offline (parallel processes) into OUT/<cell>/ plus OUT/fleet.md",
        "preview": "pulumi preview every cell through the Automation API (canary, then waves)",
        "up": "pulumi up every cell through the Automation API (canary, then waves; stops on a failed wave)",
    }
    for name, help_ in helps.items():
        c = ops.add_parser(name, help=help_)
        c.add_argument("fleet_file", type=Path, metavar="FLEET", help="the fleet file (YAML)")
        c.add_argument("--stacks-dir", type=Path, required=True, help="where the cells' stack files live")
        c.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
        if name == "plan":
            c.add_argument("--check", action="store_true",
                           help="write nothing; exit 1 if a stack file would change (for CI)")
            c.add_argument("--report", type=Path, help="also write the placement report (Markdown) here")
        if name == "render":
            c.add_argument("--out", type=Path, required=True, help="output directory: OUT/<cell>/, OUT/fleet.md")
        if name != "plan":
            c.add_argument("--parallel", type=int, default=min(4, os.cpu_count() or 1),
                           help="cells at a time (default: min(4, CPUs))")
        if name in ("preview", "up"):
            c.add_argument("--project", type=Path, default=Path("."),
                           help="the Pulumi project directory (its Pulumi.yaml names the program; default: .)")
            c.add_argument("--work-dir", type=Path,
                           help="where each cell's workspace lives (WORK/<cell>/, logs too; default: a temp dir)")
            c.add_argument("--retries", type=int, default=3,
                           help="retries of a cell whose stack is locked by another update (default 3)")
            c.add_argument("--pulumi-root", type=Path,
                           help="directory with bin/pulumi (default: `pulumi` on PATH)")
            c.add_argument("--no-plugin-install", action="store_true",
                           help="do not install the provider plugins before the workers start")


def main(args: argparse.Namespace) -> int:
    """Run ``tenancy fleet …`` (self-contained: the top-level CLI only dispatches here)."""
    handlers = {"plan": _plan, "render": _render, "preview": _deploy, "up": _deploy}
    try:
        return handlers[args.fleet_command](args)
    except SpecError as exc:
        print_problems(exc.problems, args.fleet_file)
        return EXIT_INVALID
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - the CLI's last line of defence
        return unexpected(exc, args.debug)


def _placement(args: argparse.Namespace) -> Any:
    from tenancy.fleet.placement import plan_placement
    from tenancy.fleet.stacks import read_existing, read_fleet

    fleet = read_fleet(args.fleet_file)
    return plan_placement(fleet, read_existing(fleet, args.stacks_dir))


def _plan(args: argparse.Namespace) -> int:
    from tenancy.fleet.stacks import placement_report, stack_documents, write_stacks

    placement = _placement(args)
    report = placement_report(placement)
    if args.check:
        stale = [c for c, _ in stack_documents(placement, args.stacks_dir) if c.changed]
        print(report)
        if stale:
            print(f"stack files out of date: {', '.join(str(c.path) for c in stale)}; run `tenancy fleet plan`",
                  file=sys.stderr)
            return EXIT_ERROR
        return EXIT_OK
    changes = write_stacks(placement, args.stacks_dir, source=args.fleet_file)
    print(report)
    for c in changes:
        print(f"  {c.path}: {'created' if c.created else 'updated' if c.changed else 'unchanged'}")
    if args.report:
        args.report.write_text(report)
    return EXIT_OK


def _current(args: argparse.Namespace) -> Any:
    """The placement, refusing stack files that differ from it (deploying a stale plan would
    deploy something nobody reviewed)."""
    from tenancy.fleet.stacks import stale_stacks

    placement = _placement(args)
    stale = stale_stacks(placement, args.stacks_dir)
    if stale:
        raise SpecError([Problem(f"cells ({c})", (
            f"{args.stacks_dir}/Pulumi.{c}.yaml is missing or differs from the fleet's plan; run "
            f"`tenancy fleet plan {args.fleet_file} --stacks-dir {args.stacks_dir}`, review it, then retry"))
            for c in stale])
    return placement


def _render(args: argparse.Namespace) -> int:
    from tenancy.fleet.render import render_fleet

    placement = _current(args)
    started = time.monotonic()
    print(f"rendering {len(placement.cells)} cell(s), {args.parallel} at a time")
    results = render_fleet(placement, args.stacks_dir, args.out, parallel=args.parallel,
                           on_done=lambda r: print(f"  {r.cell}: " + (
                               f"{r.resources} resources, {r.kubernetes_objects} Kubernetes objects, "
                               f"{r.tenants} tenant(s) in {r.seconds:.1f}s" if r.ok else f"FAILED: {r.error}"),
                               flush=True))
    print(f"fleet report: {args.out}/fleet.md ({time.monotonic() - started:.1f}s)")
    failed = [r.cell for r in results if not r.ok]
    if failed:
        print(f"error: render failed for cell(s) {', '.join(failed)}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _deploy(args: argparse.Namespace) -> int:
    from tenancy.fleet.deploy import AutomationStacks, exit_message, run_fleet, summary_table

    placement = _current(args)
    waves = placement.fleet.rollout_waves()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix=f"tenancy-fleet-{placement.fleet.name}-"))
    source = AutomationStacks(args.project, args.stacks_dir, work, pulumi_root=args.pulumi_root)
    print(f"fleet {args.fleet_command}: canary {waves[0][0]}, then "
          f"{' -> '.join('[' + ', '.join(w) + ']' for w in waves[1:]) or 'nothing'}; "
          f"{args.parallel} at a time; workspaces in {work}", flush=True)
    results = run_fleet(args.fleet_command, waves, source, parallel=args.parallel, retries=args.retries,
                        report=lambda line: print(line, flush=True), install_plugins=not args.no_plugin_install)
    print(summary_table(args.fleet_command, results))
    message = exit_message(args.fleet_command, results)
    if message:
        print(f"error: {message}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
