"""tenancy verify and observability.logs: each tenant log group exists with a KMS key and the
rendered retention (drift.aws), and the live documents of the log roles (the readers, the router)
are read back and judged by the isolation facts — a router policy widened in the console fails
verify's isolation check (layer ``logs``). Against moto (the AWS API emulator)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenancy.render import RenderResult, render_spec
from tenancy.verify import aws as aws_checks
from tenancy.verify.report import FAIL, PASS
from tenancy.verify.run import isolation
from tests.fixtures.specs import spec_with, tenant
from tests.helpers.verify_aws import aws_client

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/rolePolicy:RolePolicy"
ALICE = "arn:aws:iam::123456789012:user/alice"


@pytest.fixture(scope="module")
def render() -> RenderResult:
    return render_spec(spec_with([tenant("alpha", 0, viewers=[ALICE]), tenant("beta", 1, editors=[ALICE])],
                                 observability={"logs": {"enabled": True, "retentionDays": 30}}))


def _deploy_logs(moto: Any, render: RenderResult) -> None:
    """What `pulumi up` creates for the logs, as the render says (account rewritten to moto's)."""
    logs, iam, kms = moto.client("logs"), moto.client("iam"), moto.client("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    for g in aws_checks.rendered_log_groups(render.resources).values():
        logs.create_log_group(logGroupName=g["inputs"]["name"], kmsKeyId=key)
        logs.put_retention_policy(logGroupName=g["inputs"]["name"], retentionInDays=int(g["inputs"]["retentionInDays"]))
    iam.create_user(UserName="alice")
    for name, r in aws_checks.rendered_roles(render.resources).items():
        trust = r["inputs"]["assumeRolePolicy"].replace("111122223333", "123456789012")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        for p in render.of_type(POLICY):
            if p["inputs"]["role"] == name:
                iam.put_role_policy(RoleName=name, PolicyName=p["inputs"]["name"],
                                    PolicyDocument=p["inputs"]["policy"].replace("111122223333", "123456789012"))


def test_log_roles_and_groups_are_what_verify_reads(render: RenderResult) -> None:
    roles = aws_checks.rendered_roles(render.resources)
    assert {"acme.alpha@logs-reader", "acme.beta@logs-reader", "acme.platform.log-router"} <= set(roles)
    assert set(aws_checks.rendered_log_groups(render.resources)) == {
        "/tenancy/acme/alpha/containers", "/tenancy/acme/beta/containers"}


def test_log_group_drift_pure(render: RenderResult) -> None:
    good = {"kmsKeyId": "arn:aws:kms:x", "retentionInDays": 30}
    state = aws_checks.AwsState(log_groups={"/tenancy/acme/alpha/containers": good,
                                            "/tenancy/acme/beta/containers": good})
    assert {r.status for r in aws_checks.log_group_drift(render.resources, state)} == {PASS}
    state.log_groups["/tenancy/acme/beta/containers"] = {"retentionInDays": 7}
    state.log_groups["/tenancy/acme/alpha/containers"] = None
    got = {(r.tenant, r.detail) for r in aws_checks.log_group_drift(render.resources, state) if r.status == FAIL}
    assert got == {("alpha", "missing from AWS"),
                   ("beta", "not encrypted with a KMS key; retention 7 days, rendered 30")}


def _logs_part(render: RenderResult) -> list[dict[str, Any]]:
    """The logs' resources only: the rest of the platform is not replayed here (the whole replay:
    tests/verify/test_verify_aws.py)."""
    return [r for r in render.resources if r["type"] in ("aws:cloudwatch/logGroup:LogGroup", ROLE, POLICY)]


def test_verify_reads_the_logs_back_and_fails_a_widened_router(moto_server: Any, render: RenderResult) -> None:
    _deploy_logs(moto_server, render)
    client = aws_client(moto_server)
    state = client.read(_logs_part(render))
    drift = [r for r in aws_checks.log_group_drift(render.resources, state)]
    assert drift and all(r.status == PASS for r in drift), drift
    live = aws_checks.live_resources(render.resources, state)
    assert all(r.status == PASS for r in isolation(render.resources, live, ["logs"]))
    # tampering: the router's policy widened to every group of the platform (the flow logs too)
    iam = moto_server.client("iam")
    doc = iam.get_role_policy(RoleName="acme.platform.log-router", PolicyName="write-tenant-container-logs")
    wide = json.dumps(doc["PolicyDocument"]).replace("/*/containers", "/*")
    iam.put_role_policy(RoleName="acme.platform.log-router", PolicyName="write-tenant-container-logs",
                        PolicyDocument=wide)
    live = aws_checks.live_resources(render.resources, client.read(_logs_part(render)))
    fails = [r for r in isolation(render.resources, live, ["logs"]) if r.status == FAIL]
    assert any("acme.platform.log-router can now write log group /tenancy/acme/vpc-flow-logs" in r.detail
               for r in fails), fails
    # and a group deleted in the console is drift
    moto_server.client("logs").delete_log_group(logGroupName="/tenancy/acme/beta/containers")
    state = client.read(_logs_part(render))
    got = [r for r in aws_checks.log_group_drift(render.resources, state) if r.status == FAIL]
    assert [(r.tenant, r.detail) for r in got] == [("beta", "missing from AWS")]
