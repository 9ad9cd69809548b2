"""Render a user's own Pulumi Python program offline (``tenancy render --program DIR``).

The program directory is what ``pulumi up`` runs: ``DIR/__main__.py`` (or the ``main:`` of
``DIR/Pulumi.yaml``). Its config comes from a stack file, every namespace kept (``aws:region``,
``myproject:platform``, ``tenancy:platform``…); keys without a namespace belong to the project,
as Pulumi reads them. Nothing is deployed: the program runs in-process under the same mock
engine as ``tenancy render --stack``.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi

from tenancy.components.platform import BUILT_SPECS, whole_platform
from tenancy.render.engine import run_under_mocks
from tenancy.render.result import RenderResult, result_of
from tenancy.spec.stackfile import read_yaml


class ProgramError(ValueError):
    """The program directory cannot be run (no ``__main__.py``, bad ``Pulumi.yaml``)."""


def program_entry(directory: Path) -> tuple[str, Path]:
    """``(project name, the file to run)`` for a Pulumi Python program directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ProgramError(f"{directory}: not a directory; pass the folder holding your program's __main__.py")
    project, main = directory.resolve().name, directory
    meta = directory / "Pulumi.yaml"
    if meta.is_file():
        doc = read_yaml(meta) or {}
        if not isinstance(doc, dict):
            raise ProgramError(f"{meta}: not a Pulumi project file (a mapping with name, runtime, …)")
        project = str(doc.get("name") or project)
        if doc.get("main"):
            main = directory / str(doc["main"])
    entry = main if main.is_file() else main / "__main__.py"
    if not entry.is_file():
        raise ProgramError(f"{directory}: no {entry}; a Pulumi Python program needs a __main__.py "
                           "(or `main:` in Pulumi.yaml)")
    return project, entry


def qualify_config(config: Mapping[str, Any], project: str) -> dict[str, Any]:
    """Pulumi's reading of a stack file's keys: ``key`` means ``<project>:key``."""
    return {(k if ":" in k else f"{project}:{k}"): v for k, v in config.items()}


def program_function(entry: Path) -> Callable[[], None]:
    """A function running ``entry`` as ``__main__``, with its folder first on ``sys.path`` (as
    the Pulumi language host does). Modules the program imports from its folder are unloaded
    afterwards, so two programs with a ``helpers.py`` each don't see each other's."""
    folder = str(entry.parent.resolve())

    def run() -> None:
        before = set(sys.modules)
        sys.path.insert(0, folder)
        try:
            runpy.run_path(str(entry), run_name="__main__")
        finally:
            sys.path.remove(folder)
            for name in set(sys.modules) - before:
                if (getattr(sys.modules[name], "__file__", None) or "").startswith(folder):
                    del sys.modules[name]

    return run


def render_program(
    directory: Path,
    config: Mapping[str, Any] | None = None,
    *,
    stack: str = "render",
    project: str | None = None,
    on_resource: Callable[[], None] | None = None,
    mocks: pulumi.runtime.Mocks | None = None,
) -> RenderResult:
    """Run the program in ``directory`` under the mock engine with ``config`` (a stack file's
    ``config:`` mapping) and return its render. The spec of the :class:`~tenancy.Platform` it
    builds, if any, is the result's ``spec``."""
    name, entry = program_entry(directory)
    project = project or name
    BUILT_SPECS.clear()
    with whole_platform():  # a Platform(in_cluster="tenant-stacks") is rendered whole, too
        regs, outputs = run_under_mocks(program_function(entry), project=project, stack=stack,
                                        config=qualify_config(config or {}, project), on_resource=on_resource,
                                        mocks=mocks)
    spec = BUILT_SPECS[0] if len(BUILT_SPECS) == 1 else None
    BUILT_SPECS.clear()
    return result_of(regs, outputs, project=project, stack=stack, spec=spec)
