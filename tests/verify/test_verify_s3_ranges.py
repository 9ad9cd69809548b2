"""S3 reach that follows AWS's list (issue 22): the tenancy-allow-s3 NetworkPolicies copy the S3 prefix
list's entries at deploy time (a NetworkPolicy holds only CIDRs), so tenancy verify compares them with AWS's
managed prefix list com.amazonaws.<region>.s3 as it is now, read through boto3 from the AWS API emulator
(moto ships the AWS-managed S3 list with entries). AWS-managed lists cannot be changed by an account
(moto's modify fails on them too), so "AWS changed the list after the deploy" is a deploy rendered with
an older list: the ranges AWS added are reported missing, the ones it dropped reported still allowed,
per tenant, with the fix; a deploy with the current list passes (the negative control)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tenancy.render import mocks, render_spec
from tenancy.review.diff import Render
from tenancy.verify import verify
from tenancy.verify.aws import S3_RANGES, AwsState, s3_policy_ranges, s3_ranges
from tenancy.verify.report import FAIL, PASS, SKIP
from tests.fixtures.specs import small_spec
from tests.helpers.verify_aws import aws_client

pytestmark = pytest.mark.slow


def _deployed_with(monkeypatch: pytest.MonkeyPatch, cidrs: list[str]) -> list[dict[str, Any]]:
    """The stack as `pulumi up` leaves it when aws.ec2.getPrefixList answers ``cidrs``."""
    monkeypatch.setattr(mocks, "S3_PREFIX_LIST_CIDRS", tuple(cidrs))
    return render_spec(small_spec()).resources


def _live_list(moto: Any) -> list[str]:
    ec2 = moto.client("ec2")
    [pl] = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.eu-west-1.s3"]}])["PrefixLists"]
    assert pl["OwnerId"] == "AWS"
    return [e["Cidr"] for e in ec2.get_managed_prefix_list_entries(PrefixListId=pl["PrefixListId"])["Entries"]]


def test_policies_with_the_current_list_pass_and_a_stale_deploy_is_reported(moto_server: Any,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    now = _live_list(moto_server)
    assert len(now) >= 2
    client = aws_client(moto_server)

    current = _deployed_with(monkeypatch, now)
    policies = s3_policy_ranges(current)
    assert policies and all(sorted(c) == sorted(now) for _, c in policies.values())
    pl = client.s3_prefix_list(current)
    assert pl is not None and pl.name == "com.amazonaws.eu-west-1.s3" and sorted(pl.cidrs) == sorted(now)
    ok = s3_ranges(current, AwsState(s3_prefix_list=pl))
    assert len(ok) == len(policies) and {r.status for r in ok} == {PASS}

    # deployed before AWS added now[0] and dropped 198.51.100.0/24
    stale = _deployed_with(monkeypatch, [*now[1:], "198.51.100.0/24"])
    results = s3_ranges(stale, AwsState(s3_prefix_list=client.s3_prefix_list(stale)))
    assert len(results) == len(policies) and {r.status for r in results} == {FAIL}
    assert {r.object.split()[0] for r in results} == {"NetworkPolicy", "ClusterNetworkPolicy"}
    tenants = {r.tenant for r in results}
    assert tenants == {t for t, _ in policies.values()} and None not in tenants
    for r in results:
        # tenancy-allow-s3, and the s3 rule of the tenant's Admin-tier wall (the same ranges, copied at deploy)
        assert r.check == S3_RANGES and (r.object.endswith("/tenancy-allow-s3")
                                         or r.object.startswith("ClusterNetworkPolicy tenancy-tenant-"))
        assert f"now also lists {now[0]}" in r.detail and "are dropped" in r.detail
        assert "198.51.100.0/24 is no longer in com.amazonaws.eu-west-1.s3" in r.detail
        assert "pulumi up" in r.detail


def test_a_widened_policy_is_reported_even_when_aws_list_is_unchanged(moto_server: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    now = _live_list(moto_server)
    live = _deployed_with(monkeypatch, now)
    victim = next(r for r in live if r["type"].endswith("NetworkPolicy")
                  and r["inputs"]["metadata"]["name"] == "tenancy-allow-s3")
    victim["inputs"]["spec"]["egress"][0]["to"].append({"ipBlock": {"cidr": "0.0.0.0/0"}})
    results = s3_ranges(live, AwsState(s3_prefix_list=aws_client(moto_server).s3_prefix_list(live)))
    bad = [r for r in results if r.status == FAIL]
    assert [r.tenant for r in bad] == [victim["tenant"]] and "0.0.0.0/0 is no longer in" in bad[0].detail


class _NoAws:
    def read(self, resources: Any) -> AwsState:
        return AwsState(account="111122223333")


def test_without_the_cluster_the_check_is_skipped_not_passed() -> None:
    """The render's ranges are the mock engine's: only the live policies can be judged."""
    result = render_spec(small_spec())
    report = verify(Render(Path("build/test"), result.project, result.stack, result.resources), aws=_NoAws())
    [r] = [r for r in report.results if r.check == S3_RANGES]
    assert r.status == SKIP and "needs the cluster" in r.detail


class _S3ListOnly:
    """An AWS reader that reads only the S3 prefix list (from the emulator, through boto3)."""

    def __init__(self, moto: Any):
        self.client = aws_client(moto)

    def read(self, resources: Any) -> AwsState:
        return AwsState(account="111122223333", s3_prefix_list=self.client.s3_prefix_list(resources))


def test_verify_judges_the_live_clusters_policies(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through verify(): the cluster's policies (an in-memory API server holding what `pulumi up` applied)
    against AWS's list now; the render verify is given holds the mock engine's ranges, never compared."""
    from tenancy.render.result import is_kubernetes_object, manifest_of
    from tests.verify.test_verify_kube import FakeCluster, _server_defaults

    now = _live_list(moto_server)
    render = render_spec(small_spec())  # the mock's ranges, as `tenancy render` writes them
    assert not any(sorted(c) == sorted(now) for _, c in s3_policy_ranges(render.resources).values())

    def run(deployed: list[dict[str, Any]]) -> list[Any]:
        cluster = FakeCluster([_server_defaults(manifest_of(r)) for r in deployed if is_kubernetes_object(r)])
        report = verify(Render(Path("build/test"), render.project, render.stack, render.resources),
                        kube=cluster, aws=_S3ListOnly(moto_server))  # type: ignore[arg-type]
        return [r for r in report.results if r.check == S3_RANGES]

    fresh = run(_deployed_with(monkeypatch, now))
    assert fresh and {r.status for r in fresh} == {PASS}
    stale = run(_deployed_with(monkeypatch, now[1:]))
    assert stale and {r.status for r in stale} == {FAIL} and all(now[0] in r.detail for r in stale)


def test_kubernetes_drift_leaves_the_s3_ranges_to_the_s3_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The render's tenancy-allow-s3 holds the mock engine's ranges; the cluster the ones AWS listed at
    deploy time. drift.kubernetes no longer reads that difference as drift (every real cluster had it);
    anything else in the policy still is (negative control: a port changed)."""
    from tenancy.render.result import is_kubernetes_object, manifest_of
    from tenancy.verify import kube as K
    from tests.verify.test_verify_kube import FakeCluster, _server_defaults

    render = render_spec(small_spec())
    deployed = _deployed_with(monkeypatch, ["3.5.0.0/19", "52.216.0.0/15"])
    cluster = FakeCluster([_server_defaults(manifest_of(r)) for r in deployed if is_kubernetes_object(r)])

    def s3_drift() -> list[Any]:
        return [r for r in K.drift(K.read_live(cluster, render.resources))  # type: ignore[arg-type]
                if r.object.endswith("/tenancy-allow-s3")]

    assert s3_drift() and {r.status for r in s3_drift()} == {PASS}
    key = next(k for k in cluster.objs if k[1] == "NetworkPolicy" and k[3] == "tenancy-allow-s3")
    cluster.objs[key]["spec"]["egress"][0]["ports"][0]["port"] = 80
    assert [r.status for r in s3_drift() if key[2] in r.object] == [FAIL]
