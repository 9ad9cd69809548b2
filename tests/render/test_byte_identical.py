"""Two renders of one config are byte-identical, whatever the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.tools import ROOT


def _render(out: Path, seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-m", "tenancy.cli", "render", "--stack", "dev", "--stacks-dir",
                    str(ROOT / "stacks"), "--out", str(out), "--quiet"], check=True, env=env, cwd=ROOT,
                   capture_output=True)
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_renders_are_byte_identical_across_hash_seeds(tmp_path: Path) -> None:
    a = _render(tmp_path / "a", "1")
    b = _render(tmp_path / "b", "4242")
    assert set(a) == set(b) and len(a) >= 3
    different = [f for f in a if a[f] != b[f]]
    assert not different, f"files differ between two renders of one config: {different}"


def test_manifests_do_not_depend_on_the_order_inputs_arrive_in() -> None:
    """The engine's wire format (protobuf Struct) does not keep key order, and the order it
    yields differs between protobuf versions and processes: the manifest text must not."""
    from tenancy.render.result import manifest_of
    from tenancy.render.writer import dump_manifests

    inputs = {"apiVersion": "v1", "kind": "ResourceQuota",
              "metadata": {"name": "q", "namespace": "n", "labels": {"b": "2", "a": "1"}},
              "spec": {"hard": {"pods": "5", "cpu": "1", "memory": "1Gi"}, "scopes": ["A", "B"]}}

    def reordered(v):
        return {k: reordered(v[k]) for k in reversed(list(v))} if isinstance(v, dict) else v

    a = dump_manifests([manifest_of({"inputs": inputs})])
    b = dump_manifests([manifest_of({"inputs": reordered(inputs)})])
    assert a == b
    assert a.index("apiVersion") < a.index("kind") < a.index("metadata") < a.index("spec")
    assert a.index("name: q") < a.index("namespace: n") < a.index("labels")
    assert a.index("scopes:\n  - A\n  - B") > 0  # lists keep their order
