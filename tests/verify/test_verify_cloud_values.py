"""Values only the cloud knows (issue 24), offline: the in-memory cluster of
tests/verify/test_verify_kube.py holds the render as a real deploy would — another account
(444455556666), another volume key, other security-group ids in the pooled tenant's
SecurityGroupPolicy, other S3 ranges. The "deployed" objects and the stack's outputs are made by
substituting a table of real values written here from the render's own AWS resources (what
``pulumi up`` would put there), not by the resolver under test.

- no AWS, no outputs: nothing fails, every such field is reported ``skip`` "not verified";
- ``--stack-outputs``: every such field is compared with its real value and passes; each
  tampering (another key, a foreign group, another tenant's role, a widened range) fails naming
  its tenant; the CLI exits 0, then 3.
The same against moto's ids and a real API server: tests/live/test_verify_cloud_live.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tenancy.cli import main
from tenancy.render import RenderResult, render_spec, write_render
from tenancy.render.result import is_kubernetes_object, manifest_of
from tenancy.review.diff import Render
from tenancy.spec.wire import AWS_IAM_ROLE, AWS_KMS_KEY, AWS_SECURITY_GROUP
from tenancy.verify import clients, verify
from tenancy.verify import kube as K
from tenancy.verify.report import FAIL, SKIP
from tenancy.verify.resolve import from_stack_outputs
from tests.fixtures.specs import ALPHA, GAMMA, spec_with
from tests.verify.test_verify_kube import FakeCluster, _server_defaults
from tests.verify.test_verify_kube_pools import PolicyCluster

REAL_ACCOUNT = "444455556666"
REAL_S3 = ["16.12.24.0/21", "18.34.0.0/19", "52.95.128.0/21"]


@pytest.fixture(scope="module")
def render() -> RenderResult:
    beta = {"name": "beta", "serviceAccounts": ["api", "worker"], "pool": "shared-a"}
    return render_spec(spec_with([ALPHA, beta, GAMMA], nodePools=[
        {"name": "shared-a", "slot": 4, "nodes": {"instanceTypes": ["m6i.large"]}}]))


def real_values(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Mock value → the value a real deploy holds: a new id per security group and KMS key, the
    real account in every ARN. Written from the render's AWS resources, as AWS would assign them."""
    table: dict[str, str] = {}
    for i, r in enumerate(resources):
        o = r.get("outputs") or {}
        if r["type"] == AWS_SECURITY_GROUP and r.get("id"):
            table[r["id"]] = f"sg-0{i:016x}"
        elif r["type"] == AWS_KMS_KEY:
            kid = f"0b7e{i:04d}-1111-2222-3333-444455556666"
            table[o["arn"]] = o["arn"].replace(o["keyId"], kid).replace(":111122223333:", f":{REAL_ACCOUNT}:")
            table[o["keyId"]] = kid
        elif r["type"] == AWS_IAM_ROLE and o.get("arn"):
            table[o["arn"]] = o["arn"].replace(":111122223333:", f":{REAL_ACCOUNT}:")
    return table


def deployed(value: Any, table: dict[str, str]) -> Any:
    """``value`` as the real deploy holds it: mock values replaced, the S3 policy's ranges AWS's."""
    if isinstance(value, str):
        for mock in sorted(table, key=len, reverse=True):
            value = value.replace(mock, table[mock])
        return value.replace(":111122223333:", f":{REAL_ACCOUNT}:")
    if isinstance(value, list):
        return [deployed(v, table) for v in value]
    if isinstance(value, dict):
        out = {k: deployed(v, table) for k, v in value.items()}
        if out.get("kind") == "NetworkPolicy" and out["metadata"]["name"] == "tenancy-allow-s3":
            for rule in out["spec"]["egress"]:
                rule["to"] = [t for t in rule["to"] if "ipBlock" not in t] + [{"ipBlock": {"cidr": c}}
                                                                               for c in REAL_S3]
        if out.get("kind") == "ClusterNetworkPolicy":  # a tenant wall's s3 rule holds the same ranges
            for rule in out["spec"].get("egress") or []:
                if rule.get("name") == "s3":
                    rule["to"] = [{"networks": list(REAL_S3)}]
        return out
    return value


def _cluster(render: RenderResult) -> FakeCluster:
    """The deployed objects, dry-run pods judged by the rendered placement policy (cel-python)."""
    table = real_values(render.resources)
    objs = [_server_defaults(deployed(manifest_of(r), table)) for r in render.resources if is_kubernetes_object(r)]
    return PolicyCluster(objs)


def _outputs(render: RenderResult) -> dict[str, Any]:
    real = deployed(copy.deepcopy(render.stack_outputs), real_values(render.resources))
    real["s3CidrBlocks"] = list(REAL_S3)
    return real


def _run(render: RenderResult, cluster: FakeCluster, outputs: dict[str, Any] | None = None) -> Any:
    resolution = from_stack_outputs(render.stack_outputs, outputs, "outputs.json") if outputs else None
    return verify(Render(Path("build/t"), render.project, render.stack, render.resources), kube=cluster,
                  resolution=resolution)


def _fails(report: Any) -> list[tuple[str, str | None, str]]:
    return sorted((r.check, r.tenant, r.object) for r in report.results if r.status == FAIL)


def _sgp(cluster: FakeCluster) -> dict[str, Any]:
    return next(o for k, o in cluster.objs.items() if k[1] == "SecurityGroupPolicy")


def test_the_deployed_objects_really_differ_from_the_render(render: RenderResult) -> None:
    """The control: compared literally (as before issue 24), the untouched deploy drifts."""
    cluster = _cluster(render)
    drifted = set()
    for r in render.resources:
        if is_kubernetes_object(r):
            m = manifest_of(r)
            live = cluster.get(m["apiVersion"], m["kind"], m["metadata"]["name"], m["metadata"].get("namespace"))
            if K.differences(K.compared(m), K.compared(live)):
                drifted.add(f"{m['kind']} {m['metadata']['name']}")
    assert {"StorageClass gp3-encrypted", "SecurityGroupPolicy tenancy-pod-security-groups", "ServiceAccount app",
            "ServiceAccount cluster-autoscaler", "NetworkPolicy tenancy-allow-s3"} <= drifted, drifted


def test_without_aws_or_outputs_such_fields_are_not_verified_not_failed(render: RenderResult) -> None:
    report = _run(render, _cluster(render))
    assert _fails(report) == [], [r.line() for r in report.failures]
    skipped = {(r.tenant, r.object) for r in report.results if r.status == SKIP and "not verified" in r.detail}
    assert {(None, "StorageClass gp3-encrypted (cloud values)"),
            ("beta", "SecurityGroupPolicy beta/tenancy-pod-security-groups (cloud values)"),
            ("alpha", "ServiceAccount alpha/app (cloud values)"),
            ("alpha", "NetworkPolicy alpha/tenancy-allow-s3"), ("beta", "NetworkPolicy beta/tenancy-allow-s3"),
            ("alpha", "ClusterNetworkPolicy tenancy-tenant-alpha"),
            ("beta", "ClusterNetworkPolicy tenancy-tenant-beta"),
            } <= skipped, skipped
    sc = next(r for r in report.results if r.object == "StorageClass gp3-encrypted (cloud values)")
    assert ".parameters.kmsKeyId" in sc.detail and "--stack-outputs" in sc.detail
    # the rest of each such object is still compared: the StorageClass itself passes as rendered
    assert any(r.object == "StorageClass gp3-encrypted" and r.status == "pass" for r in report.results)


def test_without_aws_or_outputs_the_rest_of_such_an_object_is_still_compared(render: RenderResult) -> None:
    cluster = _cluster(render)
    sc = next(o for k, o in cluster.objs.items() if k[1] == "StorageClass")
    sc["parameters"]["encrypted"] = "false"
    assert ("drift.kubernetes", None, "StorageClass gp3-encrypted") in _fails(_run(render, cluster))


def test_stack_outputs_resolve_every_field_and_an_untouched_deploy_passes(render: RenderResult) -> None:
    report = _run(render, _cluster(render), _outputs(render))
    assert _fails(report) == [], [r.line() for r in report.failures]
    assert not [r for r in report.results if "not verified" in r.detail]
    cloud = {r.object for r in report.results if r.object.endswith("(cloud values)") and r.status == "pass"}
    assert {"StorageClass gp3-encrypted (cloud values)", "SecurityGroupPolicy beta/tenancy-pod-security-groups "
            "(cloud values)", "ServiceAccount beta/api (cloud values)"} <= cloud, cloud
    s3 = [r for r in report.results if r.check == "drift.s3-ranges"]
    # alpha and beta (gamma has internet egress): tenancy-allow-s3 and the tenant wall's s3 rule
    assert {r.status for r in s3} == {"pass"} and len(s3) == 4, s3


def _tampered(render: RenderResult, how: str) -> FakeCluster:
    cluster = _cluster(render)
    table = real_values(render.resources)
    if how == "key":
        sc = next(o for k, o in cluster.objs.items() if k[1] == "StorageClass")
        sc["parameters"]["kmsKeyId"] = f"arn:aws:kms:eu-west-1:{REAL_ACCOUNT}:key/00000000-dead-beef-0000-000000000000"
    elif how == "group":
        sgp = _sgp(cluster)
        sgp["spec"]["securityGroups"]["groupIds"][0] = table[next(
            r["id"] for r in render.resources if r["type"] == AWS_SECURITY_GROUP and r.get("tenant") == "alpha")]
    elif how == "role":
        sa = cluster.objs[("v1", "ServiceAccount", "alpha", "app")]
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] = f"arn:aws:iam::{REAL_ACCOUNT}:role/acme.beta.api"
    elif how == "range":
        np = cluster.objs[("networking.k8s.io/v1", "NetworkPolicy", "alpha", "tenancy-allow-s3")]
        np["spec"]["egress"][0]["to"].append({"ipBlock": {"cidr": "52.0.0.0/8"}})  # widened
    elif how == "wall-range":
        wall = next(o for k, o in cluster.objs.items() if k[1] == "ClusterNetworkPolicy"
                    and o["metadata"]["name"] == "tenancy-tenant-alpha")
        next(r for r in wall["spec"]["egress"] if r["name"] == "s3")["to"][0]["networks"].append("52.0.0.0/8")
    elif how == "wall-rule":
        wall = next(o for k, o in cluster.objs.items() if k[1] == "ClusterNetworkPolicy"
                    and o["metadata"]["name"] == "tenancy-tenant-alpha")
        wall["spec"]["egress"] = [r for r in wall["spec"]["egress"] if r["name"] != "imds"]  # IMDS no longer denied
    return cluster


@pytest.mark.parametrize("how, check, tenant, obj", [
    ("key", "drift.kubernetes", None, "StorageClass gp3-encrypted"),
    ("group", "drift.kubernetes", "beta", "SecurityGroupPolicy beta/tenancy-pod-security-groups"),
    ("role", "drift.kubernetes", "alpha", "ServiceAccount alpha/app"),
    ("range", "drift.s3-ranges", "alpha", "NetworkPolicy alpha/tenancy-allow-s3"),
    ("wall-range", "drift.s3-ranges", "alpha", "ClusterNetworkPolicy tenancy-tenant-alpha"),
    ("wall-rule", "drift.kubernetes", "alpha", "ClusterNetworkPolicy tenancy-tenant-alpha"),
])
def test_with_stack_outputs_each_tampering_fails_naming_its_tenant(render: RenderResult, how: str, check: str,
                                                                   tenant: str | None, obj: str) -> None:
    report = _run(render, _tampered(render, how), _outputs(render))
    fails = _fails(report)
    assert (check, tenant, obj) in fails, fails
    assert {t for _, t, _ in fails} == {tenant}, fails  # nothing else is blamed


def test_without_outputs_the_foreign_group_is_still_judged_by_isolation(render: RenderResult) -> None:
    """No source for the ids: the SecurityGroupPolicy's ids are not verified, yet the list must still hold
    as many groups as rendered (an added group is drift)."""
    cluster = _cluster(render)
    _sgp(cluster)["spec"]["securityGroups"]["groupIds"].append("sg-0f0f0f0f0f0f0f0f0")
    fails = _fails(_run(render, cluster))
    assert ("drift.kubernetes", "beta", "SecurityGroupPolicy beta/tenancy-pod-security-groups") in fails, fails


@pytest.fixture()
def render_dir(render: RenderResult, tmp_path: Path) -> Path:
    return write_render(render, tmp_path / "render")


def test_cli_exit_codes_with_stack_outputs(render: RenderResult, render_dir: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    holder: dict[str, FakeCluster] = {"cluster": _cluster(render)}

    class Client:
        def __init__(self, *a: Any, **kw: Any) -> None:
            self.c = holder["cluster"]

        def __getattr__(self, name: str) -> Any:
            return getattr(self.c, name)

        def reachable(self) -> None:
            return None

        def whoami(self) -> str:
            return "test"

    monkeypatch.setattr(clients, "KubeClient", Client)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(_outputs(render)))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("{}")
    args = ["verify", "--render", str(render_dir), "--kubeconfig", str(kubeconfig), "--skip-aws", "--format", "json",
            "--out", str(tmp_path / "r.json")]
    assert main(args + ["--stack-outputs", str(outputs)]) == 0, capsys.readouterr().err
    assert main(args) == 0  # without outputs: not verified, not failed
    doc = json.loads((tmp_path / "r.json").read_text())
    assert any(c["status"] == "skip" and "not verified" in c["detail"] for c in doc["checks"])
    holder["cluster"] = _tampered(render, "role")
    assert main(args + ["--stack-outputs", str(outputs)]) == 3
    assert "alpha" in capsys.readouterr().err
    assert main(args + ["--stack-outputs", str(tmp_path / "nope.json")]) == 2
    (tmp_path / "bad.json").write_text("not json")
    assert main(args + ["--stack-outputs", str(tmp_path / "bad.json")]) == 2
