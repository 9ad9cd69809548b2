"""docs/review.md's reviewer walkthrough ("Reviewing a change") quotes `tenancy diff` output on the dev
stack: keep it real. Both changes it describes are made to stacks/Pulumi.dev.yaml here, rendered,
diffed, and every quoted line must be what `tenancy diff` prints today."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from tenancy.render import render_spec, write_render
from tenancy.review.diff import diff_renders, load_render, markdown
from tenancy.spec.stackfile import load_stack_file

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "review.md"
SECTION = re.compile(r"^## Reviewing a change.*?(?=^## )", re.M | re.S)


def _quotes() -> list[list[str]]:
    """The walkthrough's quoted blocks (lines after "> "), in order."""
    section = SECTION.search(DOC.read_text())
    assert section, "docs/review.md: no 'Reviewing a change' section"
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in section.group(0).splitlines():
        if line.startswith(">"):
            if current is None:
                current = []
                blocks.append(current)
            current.append(line[2:] if line.startswith("> ") else "")
        else:
            current = None
    return blocks


@pytest.fixture(scope="module")
def dev() -> tuple[dict[str, Any], dict[str, Any]]:
    platform, config = load_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")
    return platform, config


def _diff(tmp: Path, dev: tuple[dict[str, Any], dict[str, Any]], change: Any) -> list[str]:
    platform, config = dev
    head = copy.deepcopy(platform)
    change(head)
    for name, spec in (("base", platform), ("head", head)):
        write_render(render_spec(spec, stack="dev", config=config), tmp / name)
    return markdown(diff_renders(load_render(tmp / "base"), load_render(tmp / "head"))).splitlines()


def _tenant(platform: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in platform["tenants"] if t["name"] == name)


def test_the_quoted_edge_and_egress_change_is_the_real_output(tmp_path: Path, dev: Any) -> None:
    def change(p: dict[str, Any]) -> None:
        _tenant(p, "gamma")["allowFrom"] = ["alpha"]
        _tenant(p, "beta")["internetEgress"] = True

    out = _diff(tmp_path, dev, change)
    quoted = _quotes()[0]
    assert quoted == out[:len(quoted)], "\n".join(out)
    assert len(quoted) > 20


def test_the_quoted_new_tenant_is_the_real_output(tmp_path: Path, dev: Any) -> None:
    def change(p: dict[str, Any]) -> None:
        p["tenants"].append({"name": "delta", "slot": 3, "allowFrom": ["gamma"],
                             "nodes": {"instanceTypes": ["m6i.large"], "minSize": 1, "maxSize": 2,
                                       "desiredSize": 1}})

    out = _diff(tmp_path, dev, change)
    quoted = _quotes()[1]
    *shown, more = quoted
    assert shown == out[:len(shown)], "\n".join(out)
    rows = [line for line in out if line.startswith("| create |")]
    m = re.search(r"(\d+) more `create` rows", more)
    assert m and int(m.group(1)) == len(rows) - sum(line.startswith("| create |") for line in shown), more
    assert all("| delta |" in row for row in rows)


def test_the_walkthrough_is_quoted_once_and_checked() -> None:
    """Both quotes are in the checked section; no unchecked copy of `tenancy diff` output elsewhere."""
    assert len(_quotes()) == 2
    for path in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        text = path.read_text()
        if path == DOC:
            text = SECTION.sub("", text)
        assert "> ### tenancy diff" not in text, f"{path.name} quotes diff output outside the checked walkthrough"
