"""The offline render: complete, attributed, deterministic, atomic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenancy.render import render_spec, write_render
from tenancy.render import writer as writer_module
from tenancy.spec.wire import TENANT_OWNER_TYPES
from tests.fixtures.specs import small_spec

KEYS = {"urn", "type", "name", "id", "parent", "tenant", "custom", "inputs", "outputs", "dependencies",
        "protect", "retainOnDelete"}


@pytest.fixture(scope="module")
def result():
    return render_spec(small_spec(), stack="test")


def test_every_resource_has_the_documented_fields(result) -> None:
    assert result.resources
    for r in result.resources:
        assert KEYS <= set(r), r["urn"]
        assert isinstance(r["inputs"], dict) and isinstance(r["outputs"], dict)


def test_every_resource_is_attributed_by_its_parents(result) -> None:
    by_urn = result.by_urn()
    for r in result.resources:
        chain, cur = [], r
        while cur is not None:
            chain.append(cur)
            cur = by_urn.get(cur["parent"])
        tenants = [c["name"] for c in chain if c["type"] in TENANT_OWNER_TYPES]
        assert r["tenant"] == (tenants[0] if tenants else None), r["urn"]
    assert {r["tenant"] for r in result.resources} == {None, "alpha", "beta", "gamma"}
    platform = result.of_type("tenancy:index:Platform")
    assert len(platform) == 1 and platform[0]["tenant"] is None


def test_urns_are_unique_and_sorted(result) -> None:
    urns = [r["urn"] for r in result.resources]
    assert urns == sorted(urns) and len(set(urns)) == len(urns)


def test_two_renders_are_byte_identical(tmp_path: Path) -> None:
    a = write_render(render_spec(small_spec(), stack="test"), tmp_path / "a")
    b = write_render(render_spec(small_spec(), stack="test"), tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert Path("resources.json") in files and Path("report.md") in files
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_the_written_document(tmp_path: Path, result) -> None:
    out = write_render(result, tmp_path / "out")
    doc = json.loads((out / "resources.json").read_text())
    assert doc["project"] == "tenancy" and doc["stack"] == "test"
    assert len(doc["resources"]) == len(result.resources)
    report = (out / "report.md").read_text()
    for t in ("alpha", "beta", "gamma"):
        assert f"`{t}`" in report
    assert "10.40.16.0/21" in report  # alpha's block (slot 0)
    assert "tenant `gamma` may open connections to the internet" in report


def test_a_failed_write_leaves_the_previous_render_untouched(tmp_path: Path, result, monkeypatch) -> None:
    out = write_render(result, tmp_path / "out")
    before = (out / "resources.json").read_bytes()

    def boom(*_):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer_module, "report", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_render(result, out)
    assert (out / "resources.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary directory left


def test_a_failed_first_write_leaves_nothing(tmp_path: Path, result, monkeypatch) -> None:
    monkeypatch.setattr(writer_module, "report", lambda *_: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        write_render(result, tmp_path / "fresh")
    assert list(tmp_path.iterdir()) == []
