"""`tenancy` command line: render a stack offline, or just validate it.

    tenancy render --stack dev            # reads stacks/Pulumi.dev.yaml, writes build/dev/
    tenancy render --config FILE [--out DIR]
    tenancy render --program DIR --config STACKFILE --out OUT   # your own Pulumi program
    tenancy validate --stack prod
    tenancy diff BASE HEAD [--format markdown|json] [--fail-on-loosened]   # two render folders
    tenancy check RENDER [--previous BASE] [--format markdown|json]
    tenancy --version
    tenancy fleet plan|render|preview|up FLEET --stacks-dir DIR   # cells: see tenancy/cli/fleet.py
    tenancy verify --render DIR [--kubeconfig FILE] [--skip-aws] [--format markdown|json] [--out FILE]

Exit codes: 0 success; 2 invalid configuration or input (every problem printed, no traceback);
3 a guardrail fails (check) or isolation loosens (diff --fail-on-loosened); 64 usage error (bad or
missing arguments); 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tenancy._version import __version__
from tenancy.cli import fleet as fleet_cli
from tenancy.cli import tenants as tenants_cli
from tenancy.cli import verify as verify_cli
from tenancy.cli.common import EXIT_ERROR, EXIT_FAILED, EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_problems, unexpected
from tenancy.plan.validate import load_platform
from tenancy.spec import SpecError
from tenancy.spec.stackfile import load_stack_file, stack_name

if TYPE_CHECKING:
    from tenancy.render import RenderResult

# Subcommands import their machinery (the render, the review, the Pulumi SDKs) when they run, so that
# `tenancy --help`, `validate` and `diff` start without loading the providers' SDKs.



class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64 (EX_USAGE), apart from invalid configs (2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tenancy", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"tenancy {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, help_ in (("render", "run the stack program under Pulumi's mock engine and write what it "
                                   "would create (resources.json, manifests/, report.md)"),
                        ("validate", "check a stack's tenancy:platform config and list every problem")):
        c = sub.add_parser(name, help=help_)
        src = c.add_mutually_exclusive_group(required=True)
        src.add_argument("--stack", help="stack name: reads STACKS_DIR/Pulumi.<stack>.yaml")
        src.add_argument("--config", type=Path, help="a Pulumi stack file (config: tenancy:platform: …) "
                                                      "or a YAML file holding the platform object itself")
        c.add_argument("--stacks-dir", type=Path, default=Path("stacks"),
                       help="where stack files live (default: stacks)")
        if name == "validate":
            c.add_argument("--previous", type=Path, metavar="DIR",
                           help="also check the change against a previous render (its lifecycle.json): removed "
                                "tenants off-boarded first and listed in retiredTenants, slots unchanged, "
                                "kubernetesVersion up one minor at most, no minSize above the previous desiredSize")
        if name == "render":
            c.add_argument("--program", type=Path, metavar="DIR",
                           help="render your own Pulumi Python program (DIR/__main__.py) with the config of "
                                "--config STACKFILE, any namespace")
            c.add_argument("--stack-reference", action="append", default=[], metavar="NAME=FILE",
                           help="with --program: answer pulumi.StackReference(NAME) with the outputs in FILE "
                                "(JSON or YAML object, e.g. `pulumi stack output --json`); repeatable")
            c.add_argument("--out", type=Path, help="output directory (default: build/<stack>)")
            c.add_argument("--no-lifecycle-check", action="store_true",
                           help="don't compare with the previous render in --out (removed tenants must otherwise "
                                "have been off-boarded and be listed in retiredTenants)")
            c.add_argument("--quiet", action="store_true", help="no progress output")
        c.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    _review_parsers(sub)
    fleet_cli.add_parser(sub)
    tenants_cli.add_parser(sub)
    verify_cli.add_parser(sub)
    return p


def _review_parsers(sub: Any) -> None:
    """``diff`` and ``check``: commands over render folders (tenancy/review/diff.py, tenancy/review/check.py)."""
    d = sub.add_parser("diff", help="what HEAD changes against BASE (two render folders of one stack): tenants, "
                                    "resources, isolation")
    d.add_argument("base", type=Path)
    d.add_argument("head", type=Path)
    d.add_argument("--fail-on-loosened", action="store_true", help="exit 3 when isolation loosens")
    c = sub.add_parser("check", help="the guardrails over a render folder (exit 3 when a mandatory rule fails)")
    c.add_argument("render", type=Path)
    c.add_argument("--previous", type=Path, metavar="BASE",
                   help="the render deployed now: also check that the update from it to RENDER fits the node-group "
                        "quota while it runs (rule update-fits-quota)")
    for x in (d, c):
        x.add_argument("--node-group-quota", type=int, metavar="N",
                       help="managed node groups per cluster the update must fit at its peak (default: the head "
                            "render's nodeGroupQuota, else 30)")
        x.add_argument("--format", choices=("markdown", "json"), default="markdown")
        x.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")


def _source(args: argparse.Namespace) -> tuple[Path, str]:
    if args.stack:
        return args.stacks_dir / f"Pulumi.{args.stack}.yaml", args.stack
    return args.config, stack_name(args.config)


class _Progress:
    """A one-line counter on a terminal; silent otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.count = 0
        self.started = time.monotonic()

    def tick(self) -> None:
        self.count += 1
        if self.enabled and self.count % 25 == 0:
            sys.stderr.write(f"\rrendering: {self.count} resources registered "
                             f"({time.monotonic() - self.started:.1f}s)")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _problems(exc: SpecError, path: Path) -> None:
    print_problems(exc.problems, path, "invalid tenancy:platform config")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "render" and (args.program or args.stack_reference):
        if args.program is None:
            parser.error("--stack-reference needs --program")
        if args.config is None:
            parser.error("--program needs --config STACKFILE (the stack file holding the program's config)")
    if args.command in ("diff", "check"):
        return _review(args)
    if args.command == "fleet":
        return fleet_cli.main(args)
    if args.command == "deploy-tenants":
        return tenants_cli.main(args)
    if args.command == "verify":  # exit codes: tenancy/cli/verify.py
        return verify_cli.run(args)
    path, stack = _source(args)
    handlers: dict[str, Callable[[argparse.Namespace, Path, str], int]] = {"render": _render, "validate": _validate}
    try:
        return handlers[args.command](args, path, stack)
    except SpecError as exc:
        _problems(exc, path)
        return EXIT_INVALID
    except _UsageError as exc:
        print(f"tenancy: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 - the CLI's last line of defence
        return unexpected(exc, args.debug)



def _review(args: argparse.Namespace) -> int:
    from tenancy.review.diff import RenderInputError

    try:
        if args.command == "diff":
            return _diff(args)
        return _check(args)
    except RenderInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _diff(args: argparse.Namespace) -> int:
    import json

    from tenancy.review.diff import diff_renders, load_render, markdown

    d = diff_renders(load_render(args.base), load_render(args.head), node_group_quota=args.node_group_quota)
    print(json.dumps(d, indent=2, sort_keys=True) if args.format == "json" else markdown(d), end="\n"
          if args.format == "json" else "")
    if not d["summary"]["fits"]:
        print(f"error: {d['nodeGroups']['problem']}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if args.fail_on_loosened and d["summary"]["loosened"] else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    import json

    from tenancy.review import check
    from tenancy.review.diff import load_render

    render = load_render(args.render)
    results = check.run_checks(render.resources)
    if args.previous is not None:
        base = load_render(args.previous)
        quota = args.node_group_quota if args.node_group_quota is not None else render.node_group_quota
        results.append(check.update_fits(base.resources, render.resources, quota))
    if args.format == "json":
        print(json.dumps(check.document(results), indent=2, sort_keys=True))
    else:
        print(check.markdown(results, f"tenancy check — `{render.project}` / `{render.stack}`"), end="")
    return EXIT_FAILED if check.failed(results) else EXIT_OK


def _validate(args: argparse.Namespace, path: Path, stack: str) -> int:
    platform, _ = load_stack_file(path)
    spec = load_platform(platform)
    if args.previous is not None:
        if not (args.previous / "lifecycle.json").is_file():
            raise _UsageError(f"--previous {args.previous}: no lifecycle.json there (a render directory of tenancy "
                              ">= 0.2)")
        _check_transition(args.previous, spec)
    _support_warnings(spec)
    print(f"{path}: valid ({len(spec.tenants)} tenant(s))")
    return EXIT_OK


def _render(args: argparse.Namespace, path: Path, stack: str) -> int:
    from tenancy.render import render_spec, write_render

    out_dir = args.out or Path("build") / stack
    progress = _Progress(not args.quiet)
    started = time.monotonic()
    if args.program is not None:
        result = _render_program(args, path, stack, progress)
    else:
        platform, config = load_stack_file(path)
        load_platform(platform)  # fail fast, before the Pulumi runtime is even imported
        try:
            result = render_spec(platform, stack=stack, config=config, on_resource=progress.tick)
        finally:
            progress.done()
    if result.platform_spec is not None and not args.no_lifecycle_check:
        _check_transition(out_dir, result.platform_spec)
    if result.platform_spec is not None:
        _support_warnings(result.platform_spec)
    out = write_render(result, out_dir)
    groups = result.manifests
    tenants = len({r["tenant"] for r in result.resources if r["tenant"]})
    print(f"rendered stack {stack!r}: {len(result.resources)} resources, "
          f"{sum(len(v) for v in groups.values())} Kubernetes objects, {tenants} tenant(s) "
          f"in {time.monotonic() - started:.1f}s")
    print(f"  {out}/resources.json\n  {out}/manifests/ ({len(groups)} file(s))\n  {out}/report.md")
    return EXIT_OK


def _render_program(args: argparse.Namespace, path: Path, stack: str, progress: _Progress) -> RenderResult:
    from tenancy.render.program import ProgramError, render_program
    from tenancy.spec.stackfile import load_config, read_yaml
    from tenancy.testing import Mocks

    refs: dict[str, Any] = {}
    for item in args.stack_reference:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise _UsageError(f"--stack-reference {item!r}: write NAME=FILE, e.g. acme/platform/dev=outputs.json")
        outputs = read_yaml(Path(file))  # JSON is YAML
        if not isinstance(outputs, dict):
            raise _UsageError(f"--stack-reference {item!r}: {file} must hold an object of outputs")
        refs[name] = outputs
    config = load_config(path)
    region = str(config.get("aws:region", "eu-west-1"))
    try:
        return render_program(args.program, config, stack=stack,
                              mocks=Mocks(region=region, stack_references=refs, on_resource=progress.tick))
    except ProgramError as exc:
        raise _UsageError(str(exc)) from None
    finally:
        progress.done()


def _support_warnings(spec: Any) -> None:
    """What EKS's release calendar says about the spec's version today (tenancy.spec.versions):
    warnings, never errors — a spec's validity does not depend on the day it is checked."""
    import datetime as dt

    from tenancy.spec.versions import support_warnings

    for w in support_warnings(spec.kubernetes_version, spec.cluster.upgrade_policy, dt.date.today()):
        print(f"warning: {w}", file=sys.stderr)


def _check_transition(out_dir: Path, spec: Any) -> None:
    """Lifecycle guard against the previous render in ``out_dir``: removed tenants must be
    off-boarded first and retired (tenancy.spec.lifecycle)."""
    from tenancy.spec.lifecycle import read_lifecycle, transition_problems

    previous = read_lifecycle(out_dir)
    if previous is not None:
        problems = transition_problems(previous, spec)
        if problems:
            raise SpecError(problems)


if __name__ == "__main__":
    raise SystemExit(main())
