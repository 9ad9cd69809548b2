"""`.ci/review`, the merge-request review, run on a throw-away repository: the head is judged
against the base's render as its previous state, so a tenant deleted outright (no off-boarding, no
`retiredTenants`) fails the review — the offline renders alone would pass it. `make install` is a
stand-in that points each tree's `.venv/bin/tenancy` at this checkout's code (the script's own logic
is what is under test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.specs import spec_with, tenant
from tests.helpers.tools import ROOT

pytestmark = pytest.mark.slow

FAKE_MAKE = """#!/bin/sh
# make -C DIR install: DIR/.venv/bin/tenancy runs tenancy from {root}
[ "$1" = "-C" ] && [ "$3" = "install" ] || {{ echo "fake make: $*" >&2; exit 9; }}
mkdir -p "$2/.venv/bin"
printf '#!/bin/sh\\nPYTHONPATH={root} exec {python} -m tenancy.cli "$@"\\n' > "$2/.venv/bin/tenancy"
chmod +x "$2/.venv/bin/tenancy"
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout.strip()


def _stack(repo: Path, tenants: list[dict[str, Any]], stack: str = "dev", **extra: Any) -> None:
    doc = {"config": {"aws:region": "eu-west-1", "tenancy:platform": spec_with(tenants, **extra)}}
    (repo / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc))


def _review(tmp_path: Path, head_tenants: list[dict[str, Any]], unchanged_stack: str | None = None,
            **extra: Any) -> tuple[int, str]:
    repo = tmp_path / "repo"
    (repo / "stacks").mkdir(parents=True)
    (repo / ".ci").mkdir()
    (repo / ".ci" / "review").write_text((ROOT / ".ci" / "review").read_text())
    _git(repo, "init", "-q")
    _stack(repo, [tenant("alpha", 0), tenant("beta", 1)])
    if unchanged_stack:
        _stack(repo, [tenant("alpha", 0)], stack=unchanged_stack, name="other")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD")
    _stack(repo, head_tenants, **extra)
    _git(repo, "commit", "-qam", "head")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "make").write_text(FAKE_MAKE.format(root=ROOT, python=sys.executable))
    (fake / "make").chmod(0o755)
    proc = subprocess.run(["bash", str(repo / ".ci" / "review"), base, str(tmp_path / "out")], cwd=repo,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    comment = tmp_path / "out" / "comment.md"
    return proc.returncode, (comment.read_text() if comment.exists() else proc.stdout + proc.stderr)


def test_a_tenant_deleted_outright_fails_the_review(tmp_path: Path) -> None:
    rc, comment = _review(tmp_path, [tenant("alpha", 0)])
    assert rc == 3, comment
    assert "**Refused**" in comment
    assert "tenant 'beta' (slot 1) was removed from tenants" in comment
    assert "without being off-boarded first" in comment


def test_negative_control_adding_a_tenant_passes_the_lifecycle_check(tmp_path: Path) -> None:
    rc, comment = _review(tmp_path, [tenant("alpha", 0), tenant("beta", 1), tenant("gamma", 2)])
    assert rc == 0, comment
    assert "No tenant removed without off-boarding and retirement" in comment and "**Refused**" not in comment


def test_an_unchanged_stack_gets_one_line_a_changed_one_its_sections(tmp_path: Path) -> None:
    rc, comment = _review(tmp_path, [tenant("alpha", 0), tenant("beta", 1), tenant("gamma", 2)],
                          unchanged_stack="prod")
    assert rc == 0, comment
    assert "- `prod`: no change (no resource or isolation change; lifecycle and guardrails pass)." in comment
    assert "`tenancy` / `prod`" not in comment and "Lifecycle — `prod`" not in comment
    # the changed stack keeps every section
    assert "### tenancy diff — `tenancy` / `dev`" in comment and "Lifecycle — `dev`" in comment
    assert "#### Security summary (head)" in comment and "`dev`: no change" not in comment
    assert (tmp_path / "out" / "diff-prod.json").exists() and (tmp_path / "out" / "check-prod.json").exists()
def test_an_update_over_the_node_group_quota_fails_the_review_with_its_split(tmp_path: Path) -> None:
    """Issue 22: alpha's and beta's instance types change (ForceNew): 3 groups + 2 created before the old
    ones go = 5 at the peak, over nodeGroupQuota 4. The comment is still written, with the fix."""
    bigger = {"nodes": {"instanceTypes": ["m6i.xlarge"]}}
    rc, comment = _review(tmp_path, [tenant("alpha", 0, **bigger), tenant("beta", 1, **bigger)], nodeGroupQuota=4)
    assert rc == 3, comment
    assert "5 managed node groups at its peak" in comment and "pulumi up --target" in comment
    assert "`update-fits-quota` | mandatory | **1 violation(s)**" in comment
    # negative control: one of them per change fits (3 + 1 = 4)
    rc, comment = _review(tmp_path / "one", [tenant("alpha", 0, **bigger), tenant("beta", 1)], nodeGroupQuota=4)
    assert rc == 0, comment
    assert "`update-fits-quota` | mandatory | pass" in comment
