"""The Python snippets of README.md and docs/library.md run as written (issue 28: they did not
compose — the platform program exported only `tenants`, so the team stack shown below it had
nothing to read; the testing snippet called an undefined `my_program` with `{...}` config).

Every fenced ``python`` block of those pages is extracted and executed under the Pulumi mock
runtime (:mod:`tenancy.testing`), from the repository root, against the example stacks in
examples/team-stack: the platform program with the platform's stack file, the team stack program
with the payments team's stack file and the platform program's outputs as its StackReference,
and a block of unit tests by calling each of its ``test_*`` functions."""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy.components.team import IRSA_OUTPUTS, REQUIRED_OUTPUTS
from tenancy.testing import Mocks, RenderError, RenderResult, run
from tests.helpers.tools import ROOT

PAGES = [ROOT / "README.md", ROOT / "docs" / "library.md"]
EXAMPLE = ROOT / "examples" / "team-stack"
PLATFORM_STACK = EXAMPLE / "platform" / "Pulumi.dev.yaml"
TEAM_STACK = EXAMPLE / "Pulumi.payments.yaml"
PLATFORM_REFERENCE = "acme/tenancy/dev"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


def snippets(page: Path) -> list[tuple[str, str]]:
    text = page.read_text()
    return [(f"{page.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}", m.group(1))
            for m in BLOCK.finditer(text)]


ALL = [s for page in PAGES for s in snippets(page)]


def kind(code: str) -> str:
    if re.search(r"^def test_", code, re.M):
        return "tests"
    return "team" if "StackReference" in code else "platform"


def _config(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text())["config"])


def _program(code: str, where: str) -> Any:
    compiled = compile(code, where, "exec")

    def program() -> None:
        exec(compiled, {"__name__": "__main__"})  # noqa: S102 - the documented snippet, as written
    return program


@pytest.fixture(autouse=True)
def _at_the_root() -> Iterator[None]:
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(old)


def _platform(code: str, where: str) -> RenderResult:
    return run(_program(code, where), config=_config(PLATFORM_STACK), project="tenancy", stack="dev")


def test_the_pages_have_the_snippets_this_test_runs() -> None:
    kinds = [kind(code) for _, code in ALL]
    assert kinds.count("platform") == 2 and kinds.count("team") == 1 and kinds.count("tests") == 1, ALL


def test_the_readme_program_is_the_library_pages_program() -> None:
    """One platform program, shown twice: the README's and docs/library.md's are the same text."""
    [readme] = [code for where, code in ALL if where.startswith("README") and kind(code) == "platform"]
    [library] = [code for where, code in ALL if where.startswith("docs") and kind(code) == "platform"]
    assert readme == library


@pytest.mark.parametrize("where,code", [s for s in ALL if kind(s[1]) == "platform"], ids=lambda v: str(v)[:30])
def test_the_platform_program_runs_and_exports_what_a_team_stack_reads(where: str, code: str) -> None:
    result = _platform(code, where)
    assert result.platform_spec is not None and result.platform_spec.name == "acme"
    assert result.find("kubernetes:core/v1:Namespace", "alpha")
    assert {"kubeconfig", "teamStackFacts", "tenants"} <= set(result.stack_outputs)


def test_the_team_stack_runs_against_the_platform_programs_outputs() -> None:
    [(pwhere, platform_code)] = [s for s in ALL if s[0].startswith("README") and kind(s[1]) == "platform"]
    [(where, code)] = [s for s in ALL if kind(s[1]) == "team"]
    outputs = _platform(platform_code, pwhere).stack_outputs
    team = run(_program(code, where), config=_config(TEAM_STACK), project="payments-team", stack="payments",
               mocks=Mocks(stack_references={PLATFORM_REFERENCE: outputs}))
    assert {m["kind"] for m in team.manifests["payments"]} >= {"Namespace", "NetworkPolicy", "ServiceAccount"}


def test_the_testing_snippet_runs_its_tests() -> None:
    [(where, code)] = [s for s in ALL if kind(s[1]) == "tests"]
    namespace: dict[str, Any] = {"__name__": "snippet"}
    exec(compile(code, where, "exec"), namespace)  # noqa: S102
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert len(tests) == 2
    for test in tests:
        test()


def test_a_program_that_exports_only_the_tenants_does_not_feed_a_team_stack(
        caplog: pytest.LogCaptureFixture) -> None:
    """Negative control: the README's former program (only `tenants` exported) leaves the team
    stack without the outputs it reads, and the team stack fails naming one. The failed run leaves
    nothing for the garbage collector to log about later ("Future exception was never retrieved":
    collected inside a later ``ast.parse``, that logging broke CPython 3.11's ast recursion counter
    — "SystemError: AST constructor recursion depth mismatch"; tenancy/render/engine.py
    ``_finish_pending``)."""
    [(pwhere, platform_code)] = [s for s in ALL if s[0].startswith("README") and kind(s[1]) == "platform"]
    old = re.sub(r"for key, value in platform.outputs\(\).items\(\):.*\n    pulumi.export\(key, value\)\n",
                 'pulumi.export("tenants", platform.outputs()["tenants"])\n', platform_code)
    assert old != platform_code
    outputs = _platform(old, pwhere).stack_outputs
    assert set(outputs) == {"tenants"}
    [(where, code)] = [s for s in ALL if kind(s[1]) == "team"]
    outputs_read = "|".join(REQUIRED_OUTPUTS + IRSA_OUTPUTS)
    with pytest.raises(RenderError, match=f"the platform stack \\(StackReference\\) has no output '({outputs_read})'"):
        run(_program(code, where), config=_config(TEAM_STACK), project="payments-team", stack="payments",
            mocks=Mocks(stack_references={PLATFORM_REFERENCE: outputs}))
    run(lambda: None)  # the next run resets what still held the failed one
    gc.collect()
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.records[:3]
