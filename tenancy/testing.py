"""Unit-test your own Pulumi programs that use tenancy — offline, no cloud account, no Pulumi CLI.

    from tenancy.testing import run, render_program

    def program():
        spec = load_platform(pulumi.Config("acme").require_object("platform"))
        Platform(spec.name, spec)

    def test_every_tenant_gets_a_namespace():
        result = run(program, config={"acme:platform": {...}, "aws:region": "eu-west-1"})
        assert {m["metadata"]["name"] for m in result.manifests["alpha"] if m["kind"] == "Namespace"} == {"alpha"}

    def test_my_stack_renders():                      # the program folder and its stack file
        result = render_program("infra/", "infra/Pulumi.dev.yaml")
        assert result.find("kubernetes:core/v1:Namespace", "alpha")

What you get (:class:`~tenancy.render.RenderResult`): ``resources`` (every registration: type,
name, inputs, outputs, parent, tenant, protect, retainOnDelete, deletedWith, dependencies…),
``manifests`` (Kubernetes objects per tenant, as the API server would receive them),
``stack_outputs``, ``of_type``, ``for_tenant``, ``find``, and ``spec`` when the program built
a :class:`~tenancy.Platform`. :func:`write_render` writes it as ``tenancy render`` does.

Each call runs on a fresh event loop and resets Pulumi's settings and config afterwards, so
tests do not leak into each other (pulumi/pulumi#24338). Resources travel as URNs between
resources, which avoids the flaky "attached to a different loop" failures of pulumi/pulumi#6561.

The components also run under your own mocks (e.g. those of Pulumi's unit-testing guide, whose
``call`` returns ``{}``): where an invoke answers nothing they use what the spec pins
(``network.zoneNames``, ``aws:region``, ``aws:allowedAccountIds``) or fail with an error naming
what to set. :class:`Mocks` answers the invokes the components use with realistic values, and
``StackReference`` reads from ``stack_references``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi

from tenancy.components.platform import BUILT_SPECS
from tenancy.render.engine import RenderError, run_under_mocks
from tenancy.render.mocks import ACCOUNT_ID, TenancyMocks
from tenancy.render.program import ProgramError, qualify_config
from tenancy.render.program import render_program as _render_program
from tenancy.render.result import RenderResult, result_of
from tenancy.render.writer import write_render
from tenancy.spec.stackfile import load_config, stack_name

__all__ = ["ACCOUNT_ID", "Mocks", "ProgramError", "RenderError", "RenderResult", "render_program", "run",
           "write_render"]

STACK_REFERENCE = "pulumi:pulumi:StackReference"


class Mocks(TenancyMocks):
    """Pulumi mocks with realistic, deterministic answers for everything tenancy registers and
    invokes (account :data:`ACCOUNT_ID`, zones ``<region>a…f``, ARNs, ids, an EKS cluster's
    kubeconfig and OIDC issuer).

    Args:
        region: the region the fake account lives in. Default ``eu-west-1``.
        stack_references: ``{"org/project/stack": {output: value}}`` answered to
            ``pulumi.StackReference`` (e.g. a platform stack's outputs, for a team stack's tests).
    """

    def __init__(self, region: str = "eu-west-1", stack_references: Mapping[str, Mapping[str, Any]] | None = None,
                 on_resource: Callable[[], None] | None = None):
        super().__init__(region=region, on_resource=on_resource)
        self.stack_references = {k: dict(v) for k, v in (stack_references or {}).items()}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.typ == STACK_REFERENCE:
            name = str(args.inputs.get("name") or args.name)
            if name not in self.stack_references:
                raise RenderError(f"StackReference {name!r} has no outputs in this test; pass "
                                  f"Mocks(stack_references={{{name!r}: {{...}}}})")
            outputs = self.stack_references[name]
            return name, {"name": name, "outputs": outputs, "secretOutputNames": []}
        return super().new_resource(args)


def run(
    program: Callable[[], object],
    *,
    config: Mapping[str, Any] | None = None,
    project: str = "test",
    stack: str = "test",
    mocks: pulumi.runtime.Mocks | None = None,
) -> RenderResult:
    """Run ``program`` (a function that declares resources, like a ``__main__.py``) under the
    mock engine and return what it registered.

    ``config`` is a stack file's ``config:`` mapping: objects as dicts, keys with their
    namespace (``aws:region``, ``acme:platform``); keys without one belong to ``project``.
    ``mocks`` defaults to :class:`Mocks` in ``aws:region`` (or eu-west-1).
    """
    cfg = qualify_config(config or {}, project)
    if mocks is None:
        mocks = Mocks(region=str(cfg.get("aws:region", "eu-west-1")))
    BUILT_SPECS.clear()
    regs, outputs = run_under_mocks(program, project=project, stack=stack, config=cfg, mocks=mocks)
    spec = BUILT_SPECS[0] if len(BUILT_SPECS) == 1 else None
    BUILT_SPECS.clear()
    return result_of(regs, outputs, project=project, stack=stack, spec=spec)


def render_program(
    directory: str | Path,
    stack_file: str | Path | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    stack: str | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> RenderResult:
    """Run the Pulumi program in ``directory`` with the config of ``stack_file`` (a
    ``Pulumi.<stack>.yaml``; any namespace) plus ``config``, as ``tenancy render --program``
    does. The stack name defaults to the file's (``Pulumi.dev.yaml`` → ``dev``)."""
    cfg: dict[str, Any] = {}
    if stack_file is not None:
        cfg.update(load_config(Path(stack_file)))
        stack = stack or stack_name(Path(stack_file))
    cfg.update(config or {})
    return _render_program(Path(directory), cfg, stack=stack or "test", mocks=mocks)
