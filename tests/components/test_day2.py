"""Smaller day-2 fixes (issue 9, item 11): each assertion failed on the code before the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenancy.render import RenderResult, render_spec
from tests.fixtures.specs import spec_with

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(spec_with(identity={"accessPoints": True, "noncurrentVersionExpirationDays": 30,
                                           "accessLogging": True}))


def test_upgrade_policy_is_explicit(render) -> None:
    [c] = render.of_type("eks:index:Cluster")
    assert c["inputs"]["upgradePolicy"] == {"supportType": "STANDARD"}  # unset means EXTENDED pricing
    [c] = render_spec(spec_with(cluster={"upgradePolicy": "EXTENDED"})).of_type("eks:index:Cluster")
    assert c["inputs"]["upgradePolicy"] == {"supportType": "EXTENDED"}


def test_no_lifecycle_rule_has_an_empty_filter(render) -> None:
    rules = [rule for r in render.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
             for rule in r["inputs"]["rules"]]
    assert len(rules) >= 2
    for rule in rules:
        assert rule.get("filter"), rule["id"]  # {} is deprecated (terraform-provider-aws#42515)


def test_access_points_leave_the_policy_to_the_policy_resource(render) -> None:
    aps = render.of_type("aws:s3/accessPoint:AccessPoint")
    assert aps and render.of_type("aws:s3control/accessPointPolicy:AccessPointPolicy")
    for ap in aps:
        assert "policy" in ap["ignoreChanges"], ap["name"]


def test_cluster_security_group_outputs_say_what_they_are(render) -> None:
    [c] = render.of_type("eks:index:Cluster")
    given = c["inputs"]["clusterSecurityGroup"]
    # pulumi-eks returns the group it was given (cluster.ts: core.clusterSecurityGroup?.id ?? …)
    assert c["outputs"]["clusterSecurityGroupId"] == given
    managed = render.stack_outputs["eksManagedSecurityGroupId"]
    assert managed.startswith("sg-") and managed != given
    assert managed not in {r["id"] for r in render.of_type("aws:ec2/securityGroup:SecurityGroup")}


def test_docs_no_longer_contradict_the_code() -> None:
    cluster = (ROOT / "docs/cluster.md").read_text()
    assert "`desiredSize` is applied as written" not in cluster  # the code ignores it after creation
    bundle = (ROOT / "docs/bundle.md").read_text()
    assert "fails with\n  \"already exists\"" not in bundle and "upsert" in bundle
    plan = (ROOT / "tenancy/plan/cluster.py").read_text()
    assert "never get launch-template tags" in plan
