"""The render report's Mermaid graph of tenants and their edges."""

from __future__ import annotations

import re

from tenancy.render.writer import mermaid_graph
from tests.fixtures.specs import ALPHA, BETA, GAMMA, spec_with
from tests.helpers import review


def _edges(text: str) -> set[tuple[str, str, str]]:
    names = dict(re.findall(r'^\s+(\w+)\["([^"]+)"\]', text, re.M)) | dict(re.findall(r'^\s+(\w+)\(\("([^"]+)"\)\)',
                                                                                      text, re.M))
    return {(names[a], arrow, names[b]) for a, arrow, b in re.findall(r"^\s+(\w+) (-->|-\.->) (\w+)$", text, re.M)}


def test_graph_shows_declared_edges_internet_and_ingress() -> None:
    res = review.resources(spec_with([ALPHA, BETA, GAMMA], workloads={"ingressControllerNamespace": "ingress"}))
    text = mermaid_graph(res)
    assert text.startswith("```mermaid\nflowchart LR\n") and text.endswith("```")
    assert _edges(text) == {("beta", "-->", "alpha"), ("gamma", "-.->", "internet"),
                            ("ingress", "-.->", "alpha"), ("ingress", "-.->", "beta"), ("ingress", "-.->", "gamma")}


def test_graph_follows_the_render_not_the_names() -> None:
    edged = mermaid_graph(review.with_edge())
    assert ("gamma", "-->", "beta") in _edges(edged)
    assert ("gamma", "-->", "beta") not in _edges(mermaid_graph(review.base()))
