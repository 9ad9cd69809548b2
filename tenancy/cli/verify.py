"""``tenancy verify`` on the command line (registered in :mod:`tenancy.cli`).

    tenancy verify --render DIR [--kubeconfig FILE] [--context NAME] [--skip-aws] [--skip-kubernetes]
                   [--stack-outputs FILE] [--format markdown|json] [--out FILE]
    tenancy verify --render DIR --print-rbac [--rbac-subject Group:NAME|User:NAME|ServiceAccount:NS/NAME]

Exit codes: 0 every check holds; 3 a check fails (each failure names the check, the tenant and
the object); 2 bad input (no render, unreadable kubeconfig, missing client library); 1 the
platform cannot be reached (API server or AWS), or the verifying identity lacks a permission
(the message names it; ``--print-rbac`` prints the Kubernetes RBAC verify needs on this platform).
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
    v.add_argument("--stack-outputs", type=Path, default=None,
                   help="the stack's real outputs (`pulumi stack output --json --show-secrets > FILE`): the real "
                        "values (account, key, security group and role ids) of the render's mock ones; without it "
                        "and with --skip-aws those fields are reported as not verified")
    v.add_argument("--format", choices=("markdown", "json"), default="markdown")
    v.add_argument("--out", type=Path, help="write the report here (default: standard output)")
    v.add_argument("--print-rbac", action="store_true",
                   help="print the least Kubernetes RBAC verify needs on this render's platform (a ClusterRole "
                        "and its binding, as YAML for kubectl apply -f -) and exit; contacts nothing")
    v.add_argument("--rbac-subject", default=None,
                   help="who --print-rbac binds: Group:NAME, User:NAME or ServiceAccount:NAMESPACE/NAME "
                        "(default Group:tenancy:verifiers; map the CI role to it with an EKS access entry)")
    v.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from tenancy.review.diff import RenderInputError, load_render
    from tenancy.verify.clients import (
        AwsClient,
        Forbidden,
        KubeClient,
        LogsInsightsRunner,
        MissingDependency,
        SimulatorProber,
        Unreachable,
    )
    from tenancy.verify.run import verify

    try:
        render = load_render(args.render)
        if args.print_rbac or args.rbac_subject:
            return _print_rbac(render.resources, args)
        if args.kubeconfig is not None and not args.kubeconfig.is_file():
            raise RenderInputError(f"--kubeconfig {args.kubeconfig}: no such file")
        if args.skip_aws and args.skip_kubernetes:
            raise RenderInputError("--skip-aws and --skip-kubernetes together leave nothing to verify")
        identity: dict[str, str] = {}
        kube = aws = prober = queries = None
        if not args.skip_kubernetes:
            kube = KubeClient(args.kubeconfig, args.context)
            kube.reachable()
            identity["kubernetes"] = kube.whoami()
        if not args.skip_aws:
            aws = AwsClient()
            identity["aws"] = aws.whoami()
            prober = SimulatorProber(aws)
            queries = LogsInsightsRunner(aws)
        resolution = _stack_outputs(render.path, args.stack_outputs) if args.stack_outputs else None
        report = verify(render, kube=kube, aws=aws, prober=prober, identity=identity, resolution=resolution,
                        queries=queries)
    except (RenderInputError, MissingDependency) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Forbidden as exc:
        print(f"error: the verifying identity lacks a permission: {exc}\n"
              f"  `tenancy verify --render {args.render} --print-rbac` prints the RBAC verify needs", file=sys.stderr)
        return EXIT_UNREACHABLE
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


def _stack_outputs(render_path: Path, outputs: Path) -> Any:
    """The resolution from ``--stack-outputs``: the file against the render's own ``outputs.json``."""
    import json

    from tenancy.review.diff import RenderInputError
    from tenancy.verify.resolve import from_stack_outputs

    rendered = (render_path if render_path.is_dir() else render_path.parent) / "outputs.json"
    if not outputs.is_file():
        raise RenderInputError(f"--stack-outputs {outputs}: no such file (write it with "
                               f"`pulumi stack output --json --show-secrets > {outputs}`)")
    if not rendered.is_file():
        raise RenderInputError(f"--stack-outputs needs the render's outputs.json, not found at {rendered}: "
                               "render again with `tenancy render`")
    try:
        real, mock = json.loads(outputs.read_text()), json.loads(rendered.read_text())
    except ValueError as exc:
        raise RenderInputError(f"--stack-outputs {outputs}: not JSON ({exc}); give the output of "
                               "`pulumi stack output --json --show-secrets`") from exc
    if not isinstance(real, dict):
        raise RenderInputError(f"--stack-outputs {outputs}: a JSON object of outputs was expected "
                               "(`pulumi stack output --json`)")
    return from_stack_outputs(mock, real, f"stack outputs {outputs.name}")


def _print_rbac(resources: Any, args: argparse.Namespace) -> int:
    from tenancy.review.diff import RenderInputError
    from tenancy.verify.rbac import DEFAULT_SUBJECT, as_yaml, parse_subject, verifier_rbac

    if not args.print_rbac:
        raise RenderInputError("--rbac-subject goes with --print-rbac")
    try:
        subject = parse_subject(args.rbac_subject or DEFAULT_SUBJECT)
    except ValueError as exc:
        raise RenderInputError(str(exc)) from exc
    text = as_yaml(verifier_rbac(resources, subject))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return EXIT_OK
