"""``tenancy deploy-tenants``: the in-cluster layer as a platform stack plus tenant stacks, only
the changed ones run (tenancy/fleet/tenants.py; docs/scaling.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from tenancy.cli.common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_problems, unexpected
from tenancy.spec import SpecError


def add_parser(sub: Any) -> None:
    """Register ``deploy-tenants`` on the top-level ``tenancy`` sub-parsers."""
    c = sub.add_parser("deploy-tenants", help="pulumi up the in-cluster layer as a platform stack and tenant stacks, "
                                              "only those whose objects changed (docs/scaling.md)")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--stack", help="stack name: reads STACKS_DIR/Pulumi.<stack>.yaml (its tenancy:platform)")
    src.add_argument("--config", type=Path, help="a Pulumi stack file or a YAML file holding the platform object")
    c.add_argument("--stacks-dir", type=Path, default=Path("stacks"), help="where stack files live (default: stacks)")
    target = c.add_mutually_exclusive_group(required=True)
    target.add_argument("--kubeconfig", help="the platform's kubeconfig (path or contents): every stack writes "
                                             "with the platform's identity")
    target.add_argument("--platform-stack", help="a stack exporting `kubeconfig` (the AWS platform stack), read by "
                                                 "StackReference, e.g. org/tenancy/prod")
    c.add_argument("--work-dir", type=Path, required=True,
                   help="the stacks' workspaces (WORK/<stack>/) and, by default, the ledger WORK/deployed.json")
    c.add_argument("--ledger", type=Path, help="fingerprints of the last successful ups (default WORK/deployed.json)")
    c.add_argument("--tenants-per-stack", type=int, default=10,  # tenancy.plan.tenant_stacks.DEFAULT_PER_STACK
                   help="dedicated tenants per stack, grouped by slot (default 10; 1: a stack per tenant); fixed "
                        "for a platform")
    c.add_argument("--parallel", type=int, default=min(4, os.cpu_count() or 1),
                   help="stacks at a time (default: min(4, CPUs))")
    c.add_argument("--force", action="store_true", help="run every stack, changed or not")
    c.add_argument("--adopt", action="store_true",
                   help="the objects exist already (switching a Platform stack to tenant stacks, docs/scaling.md): "
                        "update them in place instead of failing with AlreadyExists; use with --force")
    c.add_argument("--pulumi-root", type=Path, help="directory with bin/pulumi (default: `pulumi` on PATH)")
    c.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")


def main(args: argparse.Namespace) -> int:
    from tenancy.fleet.tenants import StackResult, TenantStacks, deploy_tenants, summary_table
    from tenancy.spec.stackfile import load_stack_file

    path = args.stacks_dir / f"Pulumi.{args.stack}.yaml" if args.stack else args.config
    if args.tenants_per_stack < 1 or args.parallel < 1:
        print("error: --tenants-per-stack and --parallel must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        platform, _ = load_stack_file(path)
        stacks = TenantStacks(args.work_dir, env=dict(os.environ), kubeconfig=args.kubeconfig,
                              platform_stack=args.platform_stack, pulumi_root=args.pulumi_root, adopt=args.adopt)

        def progress(r: StackResult) -> None:
            print(f"{r.stack}: {r.op} {r.status} in {r.seconds:.1f}s {r.error}", file=sys.stderr, flush=True)

        results = deploy_tenants(platform, stacks, ledger=args.ledger, parallel=args.parallel, force=args.force,
                                 per_stack=args.tenants_per_stack, on_result=progress)
    except SpecError as exc:
        print_problems(exc.problems, path)
        return EXIT_INVALID
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - the CLI's last line of defence
        return unexpected(exc, args.debug)
    print(summary_table(results))
    return EXIT_ERROR if any(r.status == "failed" for r in results) else EXIT_OK
