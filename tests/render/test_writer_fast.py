"""The writer's fast encoders produce the very bytes of the standard ones they replace
(``json.dumps(indent=2, sort_keys=True)`` and ``yaml.dump_all`` with the writer's dumper)."""

from __future__ import annotations

import json

import pytest
import yaml

from tenancy.render import render_stack_file, writer
from tenancy.render.writer import dump_json, dump_manifests
from tests.helpers.tools import ROOT

ODD_VALUES = [
    {}, [], {"a": []}, [[[]]], {"x": [{"y": {}}]}, "plain", None, True, 0, -7, 2.5, 1e100, -0.0,
    {"b": {}, "a": [1, 2.5, None, True, False, "é \u2028 \\ \"q\"\n\t\x00", "\U0001f600"]},
    {"nan": float("nan"), "inf": [float("inf"), float("-inf")]},  # json's NaN/Infinity spellings
    {2: "int keys", 1: "json converts them"},
    {"t": (1, 2)},  # a tuple: json writes a list
]


def _reference_yaml(objs: list) -> str:
    return yaml.dump_all(objs, Dumper=writer._Dumper, sort_keys=False, default_flow_style=False, width=120)


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_dump_json_is_json_dumps_indent_2_sorted(value) -> None:
    assert dump_json(value) == json.dumps(value, indent=2, sort_keys=True)


def test_dump_json_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        dump_json({"a": object()})
    with pytest.raises(TypeError):
        dump_json({1: "mixed keys cannot be sorted", "a": 2})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_render_files_are_the_standard_encoders_bytes(stack: str) -> None:
    result = render_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    doc = result.document()
    assert dump_json(doc) == json.dumps(doc, indent=2, sort_keys=True)
    for objs in result.manifests.values():
        assert dump_manifests(objs) == _reference_yaml(objs)


def test_dump_manifests_is_yaml_dump_all_for_odd_values() -> None:
    shared = {"k": "v"}
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"multi": "a\nb\n", "empty": "", "yes": "yes",
                                                           "num": "0755", "null": None, "t": True, "n": 3,
                                                           "nested": [[], {}, [{"a": [1]}]], "colon": "a: b",
                                                           "long": "x " * 100, "uni": "é\u2028"}},
        {"twice": [shared, shared]},  # the same object twice: PyYAML writes an anchor and an alias
        {"tuple": (1, 2)},  # types the fast path leaves to PyYAML
        {"float": 2.5},
        {},
    ]
    assert dump_manifests(docs) == _reference_yaml(docs)
    assert "&id001" in dump_manifests(docs)
    assert dump_manifests([]) == _reference_yaml([])


def test_the_fast_path_writes_a_render_s_manifests_alone(monkeypatch) -> None:
    """Every manifest of a render is built by the fast path (PyYAML's representer is not called),
    so the comparisons above exercise it."""
    result = render_stack_file(ROOT / "stacks" / "Pulumi.dev.yaml")

    def slow(*_):
        raise AssertionError("the representer was called")

    monkeypatch.setattr(writer._Dumper, "represent", slow)
    for objs in result.manifests.values():
        dump_manifests(objs)
    with pytest.raises(AssertionError):
        dump_manifests([{"float": 2.5}])
