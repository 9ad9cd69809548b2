"""The policy pack under a REAL preview (issue 21): the built Pulumi CLI previews a new stack
(tests/live/programs/preview: a pooled tenant's bundle whose SecurityGroupPolicy groups come from a
resource created in the same update) with `policy-pack/` through the Automation API. The groups are
unknown at preview: the pack must not fail the preview with a mandatory violation (the engine sends
the unknown list so that `pooled-pod-security-groups` can still decide; a rule that could not would
be reported as the advisory "can't run policy … during preview", tests/review/test_policy_pack.py);
`up` then runs every rule on known values and passes. The stack builds the in-cluster layer alone, so
node-group rules do not apply to it (the platform's stack owns the nodes). Negative control: the same
stack without its placement policy fails the preview on a mandatory violation."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.specs import spec_with
from tests.helpers import live
from tests.helpers.controlplane import ControlPlane
from tests.helpers.testenv import PULUMI_BINARIES, require_binaries

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).parent / "programs" / "preview"
PLATFORM = spec_with([{"name": "pooled", "pool": "shared"}], nodePools=[{"name": "shared", "slot": 5}])


@pytest.fixture(scope="module")
def workspace(engine_control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from pulumi import automation as auto

    bin_dir = require_binaries(PULUMI_BINARIES)
    live.install_crds(engine_control_plane.client())
    work = tmp_path_factory.mktemp("policy-preview")
    program, pack = work / "program", work / "pack"
    shutil.copytree(PROGRAM, program, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "policy-pack", pack, ignore=shutil.ignore_patterns("__pycache__"))
    # Program and pack run with this test's interpreter (tenancy, its SDKs and pulumi-policy installed).
    for path in (program / "Pulumi.yaml", pack / "PulumiPolicy.yaml"):
        doc = yaml.safe_load(path.read_text())
        doc["runtime"] = {"name": "python", "options": {"virtualenv": sys.prefix}}
        path.write_text(yaml.safe_dump(doc))
    env = live.engine_env(bin_dir, work)
    cmd = auto.PulumiCommand(root=str(bin_dir.parent))
    opts = auto.LocalWorkspaceOptions(work_dir=str(program), pulumi_home=env["PULUMI_HOME"], env_vars=env,
                                      pulumi_command=cmd)
    yield {"auto": auto, "opts": opts, "program": program, "pack": pack,
           "kubeconfig": engine_control_plane.kubeconfig_path}


def _stack(ws: dict[str, Any], name: str, known: bool, placement: bool = True) -> Any:
    auto = ws["auto"]
    st = auto.create_or_select_stack(stack_name=name, work_dir=str(ws["program"]), opts=ws["opts"])
    st.set_config("tenancy:platform", auto.ConfigValue(json.dumps(PLATFORM)))
    st.set_config("preview-unknowns:kubeconfig", auto.ConfigValue(str(ws["kubeconfig"])))
    st.set_config("preview-unknowns:knownGroups", auto.ConfigValue("true" if known else "false"))
    st.set_config("preview-unknowns:placement", auto.ConfigValue("true" if placement else "false"))
    return st


def test_a_preview_with_unknown_groups_is_not_failed_by_the_pack(workspace: dict[str, Any]) -> None:
    st = _stack(workspace, "unknown", known=False)
    out: list[str] = []
    try:
        st.preview(policy_packs=[str(workspace["pack"])], on_output=out.append, color="never")
        text = "".join(out)  # the preview did not fail: no mandatory violation
        assert "tenancy-guardrails" in text and "[mandatory]" not in text, text[-3000:]
        assert "SecurityGroupPolicy pooled/tenancy-pod-security-groups create" in text
        # At `up` the values are known: every rule runs, and passes.
        up: list[str] = []
        st.up(policy_packs=[str(workspace["pack"])], on_output=up.append, color="never")
        assert "[mandatory]" not in "".join(up)
    finally:
        st.destroy(on_output=lambda _: None)


def test_negative_control_a_known_fault_fails_the_preview(workspace: dict[str, Any]) -> None:
    auto = workspace["auto"]
    st = _stack(workspace, "faulty", known=True, placement=False)
    with pytest.raises(auto.errors.CommandError) as err:
        st.preview(policy_packs=[str(workspace["pack"])], on_output=lambda _: None, color="never")
    assert "[mandatory]  tenant-placement-enforced" in str(err.value), str(err.value)[-3000:]
