"""``tenancy verify`` on a deployment whose cloud-assigned values are not the render's (issue 24):
the world made the way reality makes it. The AWS side is created first in the AWS API emulator
(moto: the whole render replayed, tests/components/test_platform_replay.py — moto assigns the
account 123456789012, the KMS key ids, the security-group ids), then the in-cluster objects are
derived from the render by the replay's own translation (rendered value → moto's value, what
``pulumi up`` would have put there; not the resolver under test) with the S3 ranges of moto's
managed prefix list, and applied to a real API server of its own.

Untouched, ``tenancy verify`` (Kubernetes + AWS) exits 0 although every such field differs from
the render, and so does ``--skip-aws --stack-outputs`` (the outputs as the deploy would export them); then
each tampering exits 3 naming the tenant: the StorageClass on another key, a ServiceAccount annotated
with another tenant's role (also from the outputs alone), a widened S3 range; reverted, 0 again.
(A SecurityGroupPolicy's ids: tests/verify/test_verify_cloud_values.py — the live control plane
has no VPC resource controller webhook, so a pooled tenant's admission probes cannot pass here.)"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.render import RenderResult, render_spec, write_render
from tenancy.verify import clients
from tests.components.test_platform_replay import _replay_platform
from tests.helpers import aws_replay, live
from tests.helpers.controlplane import ControlPlane, Kube
from tests.helpers.moto_server import MotoServer
from tests.helpers.verify_aws import EnforcedCallProber, aws_client
from tests.live.conftest import live_spec

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cloud_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A control plane of its own: its objects carry moto's values, not the session render's."""
    yield from live.control_plane_in(tmp_path_factory, "cloud-controlplane")


def _s3_ranges(moto: MotoServer) -> list[str]:
    ec2 = moto.client("ec2")
    [pl] = ec2.describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.eu-west-1.s3"]}])["PrefixLists"]
    return sorted(e["Cidr"] for e in ec2.get_managed_prefix_list_entries(PrefixListId=pl["PrefixListId"])["Entries"])


def deployed(manifest: dict[str, Any], ctx: aws_replay.ReplayContext, s3: list[str]) -> dict[str, Any]:
    """The object as ``pulumi up`` leaves it in the cluster: each rendered id/ARN/account replaced by
    the value moto assigned (the replay's translation), the S3 policy and each tenant wall's s3 rule
    holding the Region's ranges."""
    out = ctx.resolve(copy.deepcopy(manifest))
    if out["kind"] == "NetworkPolicy" and out["metadata"]["name"] == "tenancy-allow-s3":
        for rule in out["spec"]["egress"]:
            rule["to"] = [t for t in rule["to"] if "ipBlock" not in t] + [{"ipBlock": {"cidr": c}} for c in s3]
    if out["kind"] == "ClusterNetworkPolicy":  # a tenant wall's s3 rule: the same ranges, copied at deploy
        for rule in out["spec"].get("egress") or []:
            if rule.get("name") == "s3":
                rule["to"] = [{"networks": list(s3)}]
    return out


def test_verify_passes_on_real_values_and_finds_each_tampering(
        cloud_plane: ControlPlane, moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    render: RenderResult = render_spec(live_spec(), stack="live")
    monkeypatch.setattr(aws_replay, "HANDLERS", dict(aws_replay.HANDLERS))
    ctx = _replay_platform(moto_server, render)
    assert ctx.account != "111122223333"
    s3 = _s3_ranges(moto_server)
    kube: Kube = cloud_plane.client()
    live.install_crds(kube)
    world = {group: [deployed(dict(o), ctx, s3) for o in objs] for group, objs in render.manifests.items()}
    live.apply_render(kube, world)

    # the world really differs from the render where only the cloud knows the value
    [sc] = [o for o in world["platform"] if o["kind"] == "StorageClass"]
    [rendered_sc] = [o for o in render.manifests["platform"] if o["kind"] == "StorageClass"]
    assert sc["parameters"]["kmsKeyId"] != rendered_sc["parameters"]["kmsKeyId"]
    assert f":{ctx.account}:key/" in sc["parameters"]["kmsKeyId"]
    [sa] = [o for o in world["alpha"] if o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "app"]
    assert f"::{ctx.account}:role/" in sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]

    monkeypatch.setattr(clients, "AwsClient", lambda *a, **kw: aws_client(moto_server))
    monkeypatch.setattr(clients, "SimulatorProber", lambda aws: EnforcedCallProber(moto_server))
    render_dir = write_render(render, tmp_path / "render")
    out = tmp_path / "evidence.json"

    def verify(*extra: str) -> tuple[int, Any, str]:
        capsys.readouterr()
        code = main(["verify", "--render", str(render_dir), "--kubeconfig", str(cloud_plane.kubeconfig_path),
                     "--format", "json", "--out", str(out), *extra])
        return code, json.loads(out.read_text()), capsys.readouterr().err

    def fails(doc: Any) -> set[tuple[str, str | None, str]]:
        return {(c["check"], c["tenant"], c["object"]) for c in doc["checks"] if c["status"] == "fail"}

    code, doc, err = verify()
    assert code == 0, err
    cloud = {c["object"]: c["status"] for c in doc["checks"] if c["object"].endswith("(cloud values)")}
    assert cloud["StorageClass gp3-encrypted (cloud values)"] == "pass", cloud
    assert cloud["ServiceAccount alpha/app (cloud values)"] == "pass", cloud
    assert set(cloud.values()) == {"pass"}, cloud  # every field resolved (none "not verified")
    assert {c["status"] for c in doc["checks"] if c["check"] == "drift.s3-ranges"} == {"pass"}
    # without AWS: the same fields are not verified, nothing fails
    code, doc, err = verify("--skip-aws")
    assert code == 0, err
    assert {c["object"] for c in doc["checks"] if c["status"] == "skip" and "not verified" in c["detail"]} >= {
        "StorageClass gp3-encrypted (cloud values)", "ServiceAccount alpha/app (cloud values)",
        "NetworkPolicy alpha/tenancy-allow-s3", "ClusterNetworkPolicy tenancy-tenant-alpha"}

    # without AWS, from the stack's outputs (as `pulumi stack output --json` gives them: the render's
    # outputs with moto's values, the S3 ranges the deploy copied)
    outputs = tmp_path / "outputs.json"
    real = ctx.resolve(copy.deepcopy(render.stack_outputs))
    real["s3CidrBlocks"] = s3
    outputs.write_text(json.dumps(real))
    code, doc, err = verify("--skip-aws", "--stack-outputs", str(outputs))
    assert code == 0, err
    from_outputs = {c["object"]: c["status"] for c in doc["checks"] if c["object"].endswith("(cloud values)")}
    assert from_outputs.keys() == cloud.keys() and set(from_outputs.values()) == {"pass"}, from_outputs
    assert {c["status"] for c in doc["checks"] if c["check"] == "drift.s3-ranges"} == {"pass"}

    # 1. the StorageClass on another key (parameters are immutable: deleted and created again)
    other = moto_server.client("kms").create_key(Description="not the platform's")["KeyMetadata"]["Arn"]
    tampered = copy.deepcopy(sc)
    tampered["parameters"]["kmsKeyId"] = other
    _replace(kube, sc, tampered)
    try:
        code, doc, err = verify()
        assert code == 3, err
        assert ("drift.kubernetes", None, "StorageClass gp3-encrypted") in fails(doc)
        assert other in err
    finally:
        _replace(kube, tampered, sc)

    # 2. alpha's ServiceAccount annotated with beta's role
    beta_role = moto_server.client("iam").get_role(RoleName="acme.beta.api")["Role"]["Arn"]
    wrong = copy.deepcopy(sa)
    wrong["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] = beta_role
    kube.apply(wrong)
    try:
        code, doc, err = verify()
        assert code == 3, err
        assert ("drift.kubernetes", "alpha", "ServiceAccount alpha/app") in fails(doc)
        assert {t for _, t, _ in fails(doc)} == {"alpha"}, fails(doc)
        code, doc, err = verify("--skip-aws", "--stack-outputs", str(outputs))
        assert code == 3 and ("drift.kubernetes", "alpha", "ServiceAccount alpha/app") in fails(doc), err
    finally:
        kube.apply(sa)

    # 3. alpha's S3 policy widened
    [np] = [o for o in world["alpha"] if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "tenancy-allow-s3"]
    wide = copy.deepcopy(np)
    wide["spec"]["egress"][0]["to"].append({"ipBlock": {"cidr": "52.0.0.0/8"}})
    kube.apply(wide)
    try:
        code, doc, err = verify()
        assert code == 3, err
        assert ("drift.s3-ranges", "alpha", "NetworkPolicy alpha/tenancy-allow-s3") in fails(doc)
        assert "alpha" in err and "52.0.0.0/8" in err
    finally:
        kube.apply(np)

    code, doc, err = verify()
    assert code == 0, err


def _replace(kube: Kube, old: dict[str, Any], new: dict[str, Any]) -> None:
    kube.delete_obj(old)
    live.wait_for_deletion(kube, old)
    kube.apply(new)
