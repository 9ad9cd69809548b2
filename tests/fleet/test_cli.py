"""`tenancy fleet plan|render` as a user runs them: files written, stability across runs,
refusals with exit 2 that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tenancy import cli
from tenancy.plan.validate import load_platform
from tenancy.spec.stackfile import load_stack_file

from .helpers import fleet_doc, tenants


def write(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def plan(fleet: Path, stacks: Path, *extra: str) -> int:
    return cli.main(["fleet", "plan", str(fleet), "--stacks-dir", str(stacks), *extra])


def snapshot(stacks: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(stacks.glob("*.yaml"))}


def placement(stacks: Path) -> dict[str, dict[str, int]]:
    out = {}
    for p in sorted(stacks.glob("Pulumi.*.yaml")):
        platform, _ = load_stack_file(p)
        out[p.name] = {t["name"]: t["slot"] for t in platform["tenants"]}
    return out


def test_plan_writes_valid_stack_files_and_is_stable(tmp_path: Path, capsys) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(7, serviceAccounts=["app"])))
    stacks = tmp_path / "stacks"
    assert plan(fleet, stacks) == 0
    files = snapshot(stacks)
    assert set(files) == {"Pulumi.eu-1.yaml", "Pulumi.eu-2.yaml", "Pulumi.us-1.yaml"}
    for name in files:
        platform, config = load_stack_file(stacks / name)
        load_platform(platform)  # the platform spec accepts each cell as written
        assert config["tenancy:fleet"]["name"] == "acme"
    _, us = load_stack_file(stacks / "Pulumi.us-1.yaml")
    assert us["aws:region"] == "us-east-1" and us["aws:allowedAccountIds"] == ["444455556666"]
    assert "| tenant | cell | slot |" in capsys.readouterr().out

    # the same fleet again: nothing changes, not even a byte
    assert plan(fleet, stacks) == 0
    assert snapshot(stacks) == files
    assert plan(fleet, stacks, "--check") == 0

    # more tenants: everyone placed before stays in place
    before = placement(stacks)
    write(fleet, fleet_doc(tenants(12, serviceAccounts=["app"])))
    assert plan(fleet, stacks, "--check") == 1
    assert snapshot(stacks) == files  # --check writes nothing
    assert plan(fleet, stacks) == 0
    after = placement(stacks)
    for cell, placed in before.items():
        for name, slot in placed.items():
            assert after[cell][name] == slot
    assert sum(len(v) for v in after.values()) == 12


def test_plan_keeps_keys_it_does_not_own(tmp_path: Path) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(2)))
    stacks = tmp_path / "stacks"
    assert plan(fleet, stacks) == 0
    path = stacks / "Pulumi.eu-1.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["encryptionsalt"] = "v1:abc"
    doc["config"]["tenancy:other"] = {"secure": "v1:xyz"}
    path.write_text(yaml.safe_dump(doc))
    write(fleet, fleet_doc(tenants(5)))
    assert plan(fleet, stacks) == 0
    doc = yaml.safe_load(path.read_text())
    assert doc["encryptionsalt"] == "v1:abc" and doc["config"]["tenancy:other"] == {"secure": "v1:xyz"}


def test_refusal_exits_2_names_the_limit_and_changes_nothing(tmp_path: Path, capsys) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(3)))
    stacks = tmp_path / "stacks"
    assert plan(fleet, stacks) == 0
    files = snapshot(stacks)
    capsys.readouterr()
    write(fleet, fleet_doc(tenants(16)))  # 15 fit (nodeGroupQuota 6 in three cells)
    assert plan(fleet, stacks) == 2
    err = capsys.readouterr().err
    assert "tenants[15]" in err and "nodeGroupQuota 6" in err
    assert snapshot(stacks) == files


def test_implicit_move_is_refused(tmp_path: Path, capsys) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(3)))
    stacks = tmp_path / "stacks"
    assert plan(fleet, stacks) == 0
    where = {t: c for c, ts in placement(stacks).items() for t in ts}
    cell = where["t0"].removeprefix("Pulumi.").removesuffix(".yaml")
    other = next(c for c in ("eu-1", "eu-2", "us-1") if c != cell)
    doc = fleet_doc(tenants(3))
    doc["fleet"]["tenants"][0]["cell"] = other
    write(fleet, doc)
    capsys.readouterr()
    assert plan(fleet, stacks) == 2
    assert "never implicit" in capsys.readouterr().err


def test_a_cell_leaving_the_fleet_with_tenants_is_refused(tmp_path: Path, capsys) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc([{"name": "a", "cell": "us-1"}]))
    stacks = tmp_path / "stacks"
    assert plan(fleet, stacks) == 0
    doc = fleet_doc([{"name": "a"}])
    doc["fleet"]["cells"] = doc["fleet"]["cells"][:2]
    write(fleet, doc)
    capsys.readouterr()
    assert plan(fleet, stacks) == 2
    assert "cell 'us-1' is no longer in the fleet" in capsys.readouterr().err


def test_render_refuses_stale_stack_files(tmp_path: Path, capsys) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(2)))
    stacks = tmp_path / "stacks"
    assert cli.main(["fleet", "render", str(fleet), "--stacks-dir", str(stacks), "--out", str(tmp_path / "o")]) == 2
    assert "run `tenancy fleet plan" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_render_every_cell_in_parallel(tmp_path: Path) -> None:
    cells = fleet_doc()["fleet"]["cells"][:2]
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(3, serviceAccounts=["app"]), cells=cells))
    stacks, out = tmp_path / "stacks", tmp_path / "out"
    assert plan(fleet, stacks) == 0
    assert cli.main(["fleet", "render", str(fleet), "--stacks-dir", str(stacks), "--out", str(out),
                     "--parallel", "2"]) == 0
    report = json.loads((out / "fleet.json").read_text())
    assert [c["name"] for c in report["cells"]] == ["eu-1", "eu-2"]
    for c in report["cells"]:
        assert c["render"]["ok"], c["render"]["error"]
        resources = json.loads((out / c["name"] / "resources.json").read_text())["resources"]
        clusters = [r for r in resources if r["type"] == "eks:index:Cluster"]
        assert clusters[0]["inputs"]["name"].startswith(f"acme-{c['name']}")
        namespaces = {r["inputs"]["metadata"]["name"] for r in resources
                      if r["type"] == "kubernetes:core/v1:Namespace"}
        assert set(c["tenants"]) == namespaces - {"kube-system", "default"}, namespaces
    assert "| eu-1 | ok |" in (out / "fleet.md").read_text()
    # per-Region quotas: eu-1 and eu-2 share eu-west-1 (one NAT gateway each), counted from what was rendered
    [region] = report["regions"]
    assert (region["account"], region["region"], region["cells"]) == ("111122223333", "eu-west-1", ["eu-1", "eu-2"])
    eips = sum(1 for c in ("eu-1", "eu-2") for r in json.loads((out / c / "resources.json").read_text())["resources"]
               if r["type"] == "aws:ec2/eip:Eip")
    assert region["usage"]["elasticIps"] == eips == 2 and region["left"]["elasticIps"] == 5


@pytest.mark.parametrize("op", ["preview", "up"])
def test_deploy_refuses_stale_stack_files(tmp_path: Path, op: str, capsys) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(2)))
    assert cli.main(["fleet", op, str(fleet), "--stacks-dir", str(tmp_path / "none")]) == 2
    assert "missing or differs" in capsys.readouterr().err


ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fleets" / "acme.yaml"


def test_worked_example_is_planned_and_current(tmp_path: Path, capsys) -> None:
    """README's example: its committed stack files are what the plan writes; it has room for
    exactly four more tenants (one per cell, nodeGroupQuota 12), and the fifth is refused."""
    assert plan(EXAMPLE, ROOT / "fleets" / "acme", "--check") == 0
    import shutil

    stacks = tmp_path / "stacks"
    shutil.copytree(ROOT / "fleets" / "acme", stacks)
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["fleet"]["tenants"] += [{"name": f"extra{i}"} for i in range(4)]
    fleet = write(tmp_path / "fleet.yaml", doc)
    before = placement(stacks)
    assert plan(fleet, stacks) == 0
    after = placement(stacks)
    assert all(after[c][t] == s for c, ts in before.items() for t, s in ts.items())
    assert {len(ts) for ts in after.values()} == {11}
    doc["fleet"]["tenants"].append({"name": "one-too-many"})
    write(fleet, doc)
    capsys.readouterr()
    assert plan(fleet, stacks) == 2
    assert "'one-too-many' cannot be placed in any cell" in capsys.readouterr().err


def test_removed_tenants_are_remembered_in_the_stack_file(tmp_path: Path) -> None:
    fleet = write(tmp_path / "fleet.yaml", fleet_doc([{"name": "a", "cell": "eu-1"}, {"name": "b", "cell": "eu-1"}]))
    stacks = tmp_path / "stacks"
    assert plan(fleet, stacks) == 0
    # phase one of off-boarding happened (where the platform spec has it, removal requires it)
    path = stacks / "Pulumi.eu-1.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["tenancy:platform"]["tenants"][0]["offboarding"] = True
    path.write_text(yaml.safe_dump(doc))
    write(fleet, fleet_doc([{"name": "b", "cell": "eu-1"}]))
    assert plan(fleet, stacks) == 0
    _, config = load_stack_file(stacks / "Pulumi.eu-1.yaml")
    assert config["tenancy:fleet"]["removedTenants"] == [{"name": "a", "slot": 0}]
    write(fleet, fleet_doc([{"name": "b", "cell": "eu-1"}, {"name": "c", "cell": "eu-1"}]))
    assert plan(fleet, stacks) == 0
    assert placement(stacks)["Pulumi.eu-1.yaml"] == {"b": 1, "c": 2}  # slot 0 stays a's


def test_a_stack_file_of_another_fleet_is_refused(tmp_path: Path, capsys) -> None:
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    write(stacks / "Pulumi.eu-1.yaml", {"config": {"aws:region": "eu-west-1", "tenancy:fleet": {"name": "other"},
                                                   "tenancy:platform": {"name": "x", "tenants": []}}})
    fleet = write(tmp_path / "fleet.yaml", fleet_doc(tenants(1)))
    assert plan(fleet, stacks) == 2
    assert "belongs to fleet 'other'" in capsys.readouterr().err
