"""Changes that fit the EKS quota while they run (issue 22): tenancy diff and tenancy check --previous
compute the peak number of managed node groups an update needs, over real renders, and refuse one over
nodeGroupQuota with a split that fits. The split is judged by an independent replay of Pulumi's update
order (create-before-delete replacements; every old group deleted at the end of its update,
pulumi/pulumi#9979), not by the formula that proposed it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.review import check
from tenancy.review.diff import Render, diff_renders, load_render, markdown, resource_changes
from tenancy.review.fit import node_group_peak
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import review

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
TENANTS = [tenant(f"t{i}", i) for i in range(6)]


def _spec(quota: int = 10, types: dict[str, list[str]] | None = None) -> dict[str, Any]:
    ts = copy.deepcopy(TENANTS)
    for t in ts:
        if types and t["name"] in types:
            t["nodes"] = {"instanceTypes": types[t["name"]]}
    return spec_with(ts, nodeGroupQuota=quota)


def _bigger(names: list[str]) -> dict[str, list[str]]:
    return {n: ["m6i.xlarge"] for n in names}


def _fixed_names(res: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The render as it was before node groups took name prefixes: a fixed nodeGroupName each."""
    res = copy.deepcopy(res)
    for r in res:
        if r["type"] == NODE_GROUP:
            prefix = r["inputs"].pop("nodeGroupNamePrefix")
            r["inputs"]["nodeGroupName"] = prefix.rstrip("-")
    return res


def _diff(base: list[dict[str, Any]], head: list[dict[str, Any]], quota: int | None = None) -> dict[str, Any]:
    return diff_renders(Render(Path("base"), "tenancy", "review", base),
                        Render(Path("head"), "tenancy", "review", head, quota))


def _replay(existing: int, updates: list[tuple[list[str], list[str]]]) -> list[int]:
    """Pulumi's order, step by step: each update ``(created, replaced_cbd)`` creates its new groups
    one by one, then deletes the replaced groups' old ones at its end. The highest count of each."""
    peaks = []
    alive = existing
    for created, replaced in updates:
        peak = alive
        for _ in [*created, *replaced]:
            alive += 1
            peak = max(peak, alive)
        alive -= len(replaced)
        peaks.append(peak)
    return peaks


def test_instance_type_change_of_every_group_is_over_the_quota_with_a_split_that_fits() -> None:
    base = review.resources(_spec())
    head = review.resources(_spec(types=_bigger([t["name"] for t in TENANTS])))
    d = _diff(base, head, 10)
    ng = d["nodeGroups"]
    # 6 tenants + the system group; instance_types is ForceNew (node_group.go), each replaced create-before-delete
    assert (ng["before"], ng["peak"], ng["after"], ng["quota"], ng["fits"]) == (7, 13, 7, 10, False)
    assert len(ng["replaced"]) == 6 and not ng["created"] and not ng["deleted"]
    assert d["summary"]["fits"] is False
    assert "13 managed node groups at its peak" in ng["problem"] and "nodeGroupQuota 10" in ng["problem"]
    assert "pulumi up --target" in ng["problem"] and "fewer node groups per merge request" in ng["problem"]
    # the split, replayed: every targeted batch and the final plain update fit
    batches = ng["batches"]
    assert batches and all(set(b) <= set(ng["replaced"]) for b in batches)
    rest = [u for u in ng["replaced"] if not any(u in b for b in batches)]
    peaks = _replay(ng["before"], [([], b) for b in batches] + [([], rest)])
    assert max(peaks) <= 10, peaks
    # negative control: the same update in one go, replayed, is over
    assert _replay(7, [([], ng["replaced"])]) == [13]
    assert "❌" in markdown(d) and "13 at the update's peak, quota 10" in markdown(d)


def test_changes_that_fit_pass_negative_controls() -> None:
    base = review.resources(_spec())
    # two replacements: 7 + 2 = 9 <= 10
    few = _diff(base, review.resources(_spec(types=_bigger(["t0", "t1"]))), 10)["nodeGroups"]
    assert (few["peak"], few["fits"], few["problem"], few["batches"]) == (9, True, None, [])
    # in-place updates (labels, scaling) never add a group
    head = copy.deepcopy(base)
    for r in head:
        if r["type"] == NODE_GROUP:
            r["inputs"]["scalingConfig"]["maxSize"] = 9.0
            r["inputs"]["labels"] = {**r["inputs"]["labels"], "team": "x"}
    same = _diff(base, head, 10)
    assert {r["action"] for r in same["resources"] if r["type"] == NODE_GROUP} == {"update"}
    assert (same["nodeGroups"]["peak"], same["nodeGroups"]["fits"]) == (7, True)
    # the same change as the failing test, with a raised quota
    raised = _diff(base, review.resources(_spec(types=_bigger([t["name"] for t in TENANTS]))), 13)["nodeGroups"]
    assert raised["fits"] and raised["peak"] == 13


def test_moving_from_fixed_names_to_prefixes_replaces_every_group_at_once() -> None:
    """Issue 22: the migration replaces every group in one update (nodeGroupName → nodeGroupNamePrefix, both
    ForceNew), the old ones deleted at the end: more than quota/2 groups cannot take it."""
    res = review.resources(_spec())
    d = _diff(_fixed_names(res), res, 10)
    ng = d["nodeGroups"]
    assert {r["action"] for r in d["resources"] if r["type"] == NODE_GROUP} == {"replace"}
    assert (ng["peak"], ng["fits"]) == (14, False)
    rest = [u for u in ng["replaced"] if not any(u in b for b in ng["batches"])]
    assert max(_replay(7, [([], b) for b in ng["batches"]] + [([], rest)])) <= 10
    # back to fixed names: delete-before-create (pulumi-terraform-bridge nameRequiresDeleteBeforeReplace),
    # no extra group
    back = _diff(res, _fixed_names(res), 10)["nodeGroups"]
    assert (back["peak"], back["fits"], len(back["replacedInPlace"])) == (7, True, 7)


def test_at_full_quota_no_replacement_fits_and_no_split_is_offered() -> None:
    full = _spec(quota=7)  # 6 tenants + system = 7 groups: valid, and full
    head = review.resources(_spec(quota=7, types=_bigger(["t0"])))
    ng = _diff(review.resources(full), head, 7)["nodeGroups"]
    assert (ng["peak"], ng["fits"], ng["batches"]) == (8, False, [])
    assert "No split fits" in ng["problem"] and "Service Quotas" in ng["problem"] and "nodePool" in ng["problem"]


def test_additions_count_from_their_creation_and_deletions_free_nothing() -> None:
    base = review.resources(_spec())
    more = spec_with([*copy.deepcopy(TENANTS), tenant("t6", 6), tenant("t7", 7)], nodeGroupQuota=10)
    # 2 added (9 after) and every existing tenant group replaced: 7 + 2 + 6 = 15
    for t in more["tenants"][:6]:
        t["nodes"] = {"instanceTypes": ["m6i.xlarge"]}
    ng = _diff(base, review.resources(more), 10)["nodeGroups"]
    assert (ng["before"], ng["peak"], ng["after"], len(ng["created"])) == (7, 15, 9, 2)
    rest = [u for u in ng["replaced"] if not any(u in b for b in ng["batches"])]
    assert max(_replay(7, [([], b) for b in ng["batches"]] + [(ng["created"], rest)])) <= 10
    # removing tenants deletes their groups at the end: the peak is the groups before
    fewer = spec_with(copy.deepcopy(TENANTS[:4]), nodeGroupQuota=10)
    p = node_group_peak(base, review.resources(fewer),
                        resource_changes(base, review.resources(fewer)), 10)
    assert (p.peak, p.after, len(p.deleted)) == (7, 5, 2)


def test_cli_diff_and_check_refuse_an_update_over_the_quota(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    base = review.write_render_of(_spec(), tmp_path / "base")
    head = review.write_render_of(_spec(types=_bigger([t["name"] for t in TENANTS])), tmp_path / "head")
    # the render records the spec's quota, and the review reads it back
    assert json.loads((head / "lifecycle.json").read_text())["quotas"] == {"nodeGroups": 10}
    assert load_render(head).node_group_quota == 10
    assert main(["diff", str(base), str(head)]) == 3
    err = capsys.readouterr().err
    assert "13 managed node groups at its peak" in err and "pulumi up --target" in err
    assert main(["diff", str(base), str(head), "--node-group-quota", "13"]) == 0
    capsys.readouterr()
    assert main(["check", str(head), "--previous", str(base), "--format", "json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    [rule] = [r for r in doc["rules"] if r["id"] == "update-fits-quota"]
    assert not rule["passed"] and "nodeGroupQuota 10" in rule["violations"][0]["message"]
    # negative controls: without --previous the rule is not judged; an update that fits passes it
    assert main(["check", str(head), "--format", "json"]) == 0
    assert "update-fits-quota" not in capsys.readouterr().out
    assert main(["check", str(head), "--previous", str(head), "--format", "json"]) == 0
    [rule] = [r for r in json.loads(capsys.readouterr().out)["rules"] if r["id"] == "update-fits-quota"]
    assert rule["passed"]


def test_check_rule_over_resources() -> None:
    base = review.resources(_spec())
    head = review.resources(_spec(types=_bigger([t["name"] for t in TENANTS])))
    rule, level, violations = check.update_fits(base, head, 10)
    assert (rule.id, level, len(violations)) == ("update-fits-quota", "mandatory", 1)
    assert check.update_fits(base, head, 13)[2] == []


def test_each_targeted_batch_carries_the_dependencies_its_groups_change() -> None:
    """An AMI type change (ForceNew) also changes each group's launch template (Bottlerocket's volumes): a
    `pulumi up --target` of the group alone would not update it, so each batch targets it too."""
    base = review.resources(_spec())
    head = review.resources(spec_with([{**t, "nodes": {"amiType": "BOTTLEROCKET_x86_64"}} for t in TENANTS],
                                      nodeGroupQuota=10))
    d = _diff(base, head, 10)
    ng = d["nodeGroups"]
    assert not ng["fits"] and ng["batches"] and len(ng["targets"]) == len(ng["batches"])
    lt_changes = {r["urn"] for r in d["resources"] if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"
                  and r["action"] in ("update", "replace")}
    assert lt_changes
    heads = {r["urn"]: r for r in head}
    for batch, targets in zip(ng["batches"], ng["targets"], strict=True):
        assert set(batch) <= set(targets)
        for g in batch:
            want = set(heads[g]["dependencies"]) & lt_changes
            assert want and want <= set(targets), g
            assert all(targets.index(x) < targets.index(g) for x in want)
    assert all(f"--target '{u}'" in ng["problem"] for u in ng["targets"][0])
    # negative control: the instance-type change leaves the launch templates alone: targets are the groups
    plain = _diff(base, review.resources(_spec(types=_bigger([t["name"] for t in TENANTS]))), 10)["nodeGroups"]
    assert plain["targets"] == plain["batches"]
