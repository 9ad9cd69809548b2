"""A stack file's tenancy:platform object under the real Pulumi engine (issue 28): the built CLI
reads the YAML (gopkg.in/yaml.v3) and hands the object to the Python program as JSON, so
``internetEgress: true`` and ``pods: 7`` arrive as a boolean and a number and pass the strict spec,
while ``internetEgress: yes`` arrives as the string "yes" and is refused, naming the field. The
CLI's own stack-file reader (``tenancy.spec.stackfile``) is held to give the same verdicts."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenancy import SpecError, load_platform
from tenancy.spec.stackfile import load_stack_file
from tests.helpers import live
from tests.helpers.testenv import PULUMI_BINARIES, require_binaries

pytestmark = pytest.mark.live
PROGRAM = Path(__file__).parent / "programs" / "specload"

PLATFORM = """  tenancy:platform:
    name: acme
    vpcCidr: 10.40.0.0/16
    kubernetesVersion: "1.33"
    tenants:
      - name: alpha
        slot: 0
        internetEgress: {egress}
        quota: {{pods: {pods}}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from pulumi import automation as auto

    bin_dir = require_binaries(PULUMI_BINARIES)
    work = tmp_path_factory.mktemp("specload")
    program = work / "program"
    shutil.copytree(PROGRAM, program, ignore=shutil.ignore_patterns("__pycache__", "Pulumi.*.yaml"))
    project = yaml.safe_load((PROGRAM / "Pulumi.yaml").read_text())
    project["runtime"]["options"] = {"virtualenv": sys.prefix}
    (program / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    env = live.engine_env(bin_dir, work)
    cmd = auto.PulumiCommand(root=str(bin_dir.parent))
    opts = auto.LocalWorkspaceOptions(work_dir=str(program), pulumi_home=env["PULUMI_HOME"], env_vars=env,
                                      pulumi_command=cmd)
    st = auto.create_or_select_stack(stack_name="dev", work_dir=str(program), opts=opts)
    f = program / "Pulumi.dev.yaml"
    yield Stack(st, f, f.read_text() if f.exists() else "")


@dataclass
class Stack:
    engine: Any
    """The Automation API stack."""
    file: Path
    """Its stack file, which each test writes."""
    header: str
    """What Pulumi wrote there when creating the stack (the passphrase's encryption salt)."""

    def write(self, egress: str, pods: str) -> Path:
        self.file.write_text(self.header + "config:\n" + PLATFORM.format(egress=egress, pods=pods))
        return self.file


def _ours(f: Path) -> str | None:
    """The CLI reader's verdict on the same file: None (valid) or the refusal."""
    platform, _ = load_stack_file(f)
    try:
        load_platform(platform)
    except SpecError as exc:
        return str(exc)
    return None


def test_true_and_a_number_reach_the_program_as_themselves(stack: Stack) -> None:
    f = stack.write("true", "7")
    up = stack.engine.up(color="never")
    assert up.summary.result == "succeeded", up.stdout
    assert up.outputs["internetEgress"].value is True
    assert up.outputs["pods"].value == 7
    assert up.outputs["rawInternetEgress"].value == "bool:True"
    assert _ours(f) is None


@pytest.mark.parametrize(("egress", "pods", "field", "words"), [
    ("yes", "7", "internetEgress", "must be true or false, got the string 'yes'"),
    ("on", "7", "internetEgress", "must be true or false, got the string 'on'"),
    ('"true"', "7", "internetEgress", "must be true or false, got the string 'true'"),
    ("true", '"7"', "quota.pods", "must be a whole number, got the string '7'"),
])
def test_anything_else_is_refused_by_the_engine_and_by_the_cli_alike(stack: Stack, egress: str, pods: str,
                                                                      field: str, words: str) -> None:
    from pulumi import automation as auto

    f = stack.write(egress, pods)
    with pytest.raises(auto.CommandError) as exc:
        stack.engine.preview(color="never")
    assert f"tenants[0] (alpha).{field}: {words}" in str(exc.value), str(exc.value)[-2000:]
    ours = _ours(f)
    assert ours is not None and f"tenants[0] (alpha).{field}: {words}" in ours
