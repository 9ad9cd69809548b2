"""The operability checks (tenancy/review/operability.py): what must work, evaluated on renders, each
with a negative control (a render with the needed rule or add-on removed must be reported)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.review import operability
from tests.fixtures.specs import spec_with


@pytest.fixture(scope="module")
def default_render() -> RenderResult:
    return render_spec(spec_with())


def _find(findings: list[operability.Finding], start: str) -> operability.Finding:
    [f] = [f for f in findings if f.name.startswith(start)]
    return f


def _without(resources: list[dict[str, Any]], pred) -> list[dict[str, Any]]:
    return [copy.deepcopy(r) for r in resources if not pred(r)]


def test_default_render_has_nothing_missing(default_render) -> None:
    findings = operability.evaluate(default_render.spec, default_render.resources)
    assert len(findings) == len(operability.CHECKS)
    assert operability.missing(findings) == []


def test_removed_node_to_api_rule_is_reported(default_render) -> None:
    res = _without(default_render.resources, lambda r: r["name"] == "alpha-nodes-out-cp-443")
    f = _find(operability.evaluate(default_render.spec, res), "nodes → Kubernetes API")
    assert f.status == "missing" and "alpha-nodes" in f.detail


def test_removed_kubelet_rule_is_reported(default_render) -> None:
    res = _without(default_render.resources, lambda r: r["name"] == "acme-system-nodes-in-cp-10250")
    f = _find(operability.evaluate(default_render.spec, res), "control plane → kubelet")
    assert f.status == "missing" and "system" in f.detail


def test_report_has_an_operability_section(default_render) -> None:
    from tenancy.render.writer import report

    text = report(default_render)
    assert "## Operability" in text
    for c in operability.CHECKS:
        assert c.name in text


def test_check_names_are_unique() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        operability.check(operability.CHECKS[0].name, "flow", "x")(lambda r: ("ok", ""))
