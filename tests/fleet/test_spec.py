"""The fleet file: every problem reported with its path, platform keys passed through."""

from __future__ import annotations

import pytest

from tenancy.fleet.spec import deep_merge, load_fleet
from tenancy.spec import SpecError

from .helpers import fleet_doc, tenants


def problems(doc) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_fleet(doc)
    return [str(p) for p in exc.value.problems]


def test_valid_fleet_and_merged_platform_keys():
    doc = fleet_doc(tenants(2))
    doc["fleet"]["defaults"]["network"] = {"natGateways": "single", "flowLogs": {"retentionDays": 30}}
    doc["fleet"]["cells"][1]["network"] = {"flowLogs": {"destination": "s3"}}
    fleet = load_fleet(doc)
    base = fleet.platform_base(fleet.cell("eu-2"))
    assert base["name"] == "acme-eu-2"
    # deep merge: the cell's key wins, the defaults' siblings stay
    assert base["network"] == {"natGateways": "single", "flowLogs": {"retentionDays": 30, "destination": "s3"}}
    assert "region" not in base and "account" not in base
    assert fleet.region_of(fleet.cell("us-1")) == "us-east-1"
    assert fleet.region_of(fleet.cell("eu-1")) == "eu-west-1"


def test_unknown_platform_keys_pass_through_untouched():
    # Keys the fleet does not know (fields other issues add to the platform spec) are not
    # rejected here: the platform spec judges them, per cell, in the planner.
    doc = fleet_doc(tenants(1))
    doc["fleet"]["cells"][0]["someFutureKey"] = {"x": 1}
    fleet = load_fleet(doc)
    assert fleet.platform_base(fleet.cell("eu-1"))["someFutureKey"] == {"x": 1}


def test_every_problem_with_its_path():
    doc = fleet_doc([
        {"name": "alpha", "cell": "nowhere"},
        {"name": "alpha"},
        {"name": "Beta", "quota": {"cpu": "lots"}},
        {"name": "gamma", "slot": 3},
        {"name": "delta", "allowFrom": ["ghost"]},
    ], rollout={"canary": "mars", "waves": [["eu-2", "eu-2"]]})
    doc["fleet"]["cells"].append({"name": "eu-1", "vpcCidr": "10.90.0.0/16", "tenants": []})
    doc["fleet"]["defaults"]["name"] = "x"
    doc["fleet"]["cells"][2]["account"] = "12345"
    found = problems(doc)
    text = "\n".join(found)
    for expected in [
        "tenants[0].cell: 'nowhere' is not a cell of this fleet",
        "tenants[1].name: 'alpha' is already the name of tenants[0]",
        "tenants[2].name: 'Beta' is not a DNS-1123 label",
        "tenants[2].quota.cpu: 'lots' is not a Kubernetes quantity",
        "tenants[3].slot: a slot only means something in a cell",
        "tenants[4].allowFrom[0]: 'ghost' is not a tenant of this fleet",
        "rollout.canary: 'mars' is not a cell",
        "rollout.waves[0][1]: 'eu-2' is already deployed at rollout.waves[0][0]",
        "cells[3].tenants: cannot be set for a fleet",
        "defaults.name: cannot be set for a fleet",
        "cells[2].account: '12345' is not an AWS account id",
    ]:
        assert expected in text, f"missing {expected!r} in:\n{text}"


def test_duplicate_cell_and_missing_region():
    doc = fleet_doc()
    del doc["fleet"]["defaults"]["region"]
    doc["fleet"]["cells"][1]["name"] = "eu-1"
    text = "\n".join(problems(doc))
    assert "cells[1].name: 'eu-1' is already the name of cells[0]" in text
    assert "cells[0].region: is required" in text
    assert "cells[2].region" not in text  # us-1 has its own


def test_rollout_waves_cover_every_cell_once():
    fleet = load_fleet(fleet_doc(rollout={"canary": "eu-2", "waves": [["us-1"]]}))
    assert fleet.rollout_waves() == [["eu-2"], ["us-1"], ["eu-1"]]
    assert load_fleet(fleet_doc()).rollout_waves() == [["eu-1"], ["eu-2", "us-1"]]


def test_deep_merge_does_not_alias():
    base = {"a": {"b": [1]}}
    out = deep_merge(base, {"a": {"c": 2}})
    out["a"]["b"].append(2)
    assert base == {"a": {"b": [1]}}
