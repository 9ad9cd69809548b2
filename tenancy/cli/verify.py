"""``tenancy verify`` on the command line (registered in :mod:`tenancy.cli`).

    tenancy verify --render DIR [--kubeconfig FILE] [--context NAME] [--skip-aws] [--skip-kubernetes]
                   [--format markdown|json] [--out FILE]

Exit codes: 0 every check holds; 3 a check fails (each failure names the check, the tenant and
the object); 2 bad input (no render, unreadable kubeconfig, missing client library); 1 the
platform cannot be reached (API server or AWS).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_UNREACHABLE, EXIT_INVALID, EXIT_FAILED = 0, 1, 2, 3


def add_parser(sub: Any) -> None:
    v = sub.add_parser("verify", help="evidence that the deployed platform is what the render says and is isolated "
                                      "(drift, behaviour as each persona, AWS); read-only")
    v.add_argument("--render", type=Path, required=True, help="a render folder (`tenancy render` output)")
    v.add_argument("--kubeconfig", type=Path, help="kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
    v.add_argument("--context", help="kubeconfig context (default: the current one)")
    v.add_argument("--skip-aws", action="store_true", help="only the Kubernetes checks")
    v.add_argument("--skip-kubernetes", action="store_true", help="only the AWS checks")
    v.add_argument("--format", choices=("markdown", "json"), default="markdown")
    v.add_argument("--out", type=Path, help="write the report here (default: standard output)")
    v.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from tenancy.review.diff import RenderInputError, load_render
    from tenancy.verify.clients import AwsClient, KubeClient, MissingDependency, SimulatorProber, Unreachable
    from tenancy.verify.run import verify

    try:
        render = load_render(args.render)
        if args.kubeconfig is not None and not args.kubeconfig.is_file():
            raise RenderInputError(f"--kubeconfig {args.kubeconfig}: no such file")
        if args.skip_aws and args.skip_kubernetes:
            raise RenderInputError("--skip-aws and --skip-kubernetes together leave nothing to verify")
        identity: dict[str, str] = {}
        kube = aws = prober = None
        if not args.skip_kubernetes:
            kube = KubeClient(args.kubeconfig, args.context)
            kube.reachable()
            identity["kubernetes"] = kube.whoami()
        if not args.skip_aws:
            aws = AwsClient()
            identity["aws"] = aws.whoami()
            prober = SimulatorProber(aws)
        report = verify(render, kube=kube, aws=aws, prober=prober, identity=identity)
    except (RenderInputError, MissingDependency) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Unreachable as exc:
        print(f"error: the platform cannot be reached: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except (ClientError, BotoCoreError) as exc:
        if args.debug:
            raise
        print(f"error: AWS: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    text = report.json() if args.format == "json" else report.markdown()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    s = report.summary()
    print(f"tenancy verify: {s['pass']} passed, {s['fail']} failed, {s['skip']} skipped"
          + (f"; report in {args.out}" if args.out else ""), file=sys.stderr)
    for r in report.failures:
        print(f"  FAIL {r.line()}", file=sys.stderr)
    return EXIT_FAILED if report.failures else EXIT_OK
