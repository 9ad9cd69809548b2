"""`tenancy` command line: render a stack offline, or just validate it.

    tenancy render --stack dev            # reads stacks/Pulumi.dev.yaml, writes build/dev/
    tenancy render --config FILE [--out DIR]
    tenancy validate --stack prod
    tenancy fleet plan|render|preview|up FLEET --stacks-dir DIR   # cells: see tenancy/fleet/cli.py

Exit codes: 0 success; 2 invalid configuration (every problem printed, no traceback);
1 anything else.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .spec import SpecError, load_platform
from .stackfile import load_stack_file, stack_name

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tenancy", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
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
        if name == "render":
            c.add_argument("--out", type=Path, help="output directory (default: build/<stack>)")
            c.add_argument("--quiet", action="store_true", help="no progress output")
        c.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    from .fleet.cli import add_parser as add_fleet_parser

    add_fleet_parser(sub)
    return p


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
    print(f"error: {path}: invalid tenancy:platform config ({len(exc.problems)} problem(s)):", file=sys.stderr)
    for p in exc.problems:
        print(f"  - {p}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "fleet":
        from .fleet.cli import main as fleet_main

        return fleet_main(args)
    path, stack = _source(args)
    handlers: dict[str, Callable[[argparse.Namespace, Path, str], int]] = {"render": _render, "validate": _validate}
    try:
        return handlers[args.command](args, path, stack)
    except SpecError as exc:
        _problems(exc, path)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        print("(run again with --debug for the traceback)", file=sys.stderr)
        return EXIT_ERROR


def _validate(args: argparse.Namespace, path: Path, stack: str) -> int:
    platform, _ = load_stack_file(path)
    spec = load_platform(platform)
    print(f"{path}: valid ({len(spec.tenants)} tenant(s))")
    return EXIT_OK


def _render(args: argparse.Namespace, path: Path, stack: str) -> int:
    from .render import render_spec, write_render

    platform, config = load_stack_file(path)
    load_platform(platform)  # fail fast, before the Pulumi runtime is even imported
    progress = _Progress(not args.quiet)
    started = time.monotonic()
    try:
        result = render_spec(platform, stack=stack, config=config, on_resource=progress.tick)
    finally:
        progress.done()
    out = write_render(result, args.out or Path("build") / stack)
    groups = result.manifests
    print(f"rendered stack {stack!r}: {len(result.resources)} resources, "
          f"{sum(len(v) for v in groups.values())} Kubernetes objects, {len(result.spec.tenants)} tenant(s) "
          f"in {time.monotonic() - started:.1f}s")
    print(f"  {out}/resources.json\n  {out}/manifests/ ({len(groups)} file(s))\n  {out}/report.md")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
