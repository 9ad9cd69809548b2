"""Per-tenant log access judged by an AWS emulator with IAM enforcement: moto's server, taught the
resource each CloudWatch Logs action is authorised against (tests/helpers/moto_logs.py).

The documents under test are tenancy/plan/logs.py's, as the components attach them: each tenant's
reader role (trust: the tenant's principals; permissions: its group) and the router's permissions.
Each allow has its deny beside it, and the negative controls show the judge catches a policy one
wildcard wider.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenancy.plan import logs
from tenancy.plan.validate import load_platform
from tests.helpers.moto_logs import MotoLogsServer
from tests.helpers.moto_server import REGION

ACCOUNT = "123456789012"  # moto's default account
PLATFORM = "acme"
FLOW_LOGS = f"/tenancy/{PLATFORM}/vpc-flow-logs"  # the platform's other group (components/network.py)
OUTSIDE = "/other/app"
NOW = int(time.time() * 1000)  # CloudWatch refuses events older than 14 days (and than the retention)
PEOPLE = {"alice": "shop", "bob": "bank", "carol": "shop-eu"}


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def spec() -> Any:
    return load_platform({
        "name": PLATFORM, "vpcCidr": "10.40.0.0/16", "observability": {"logs": {"enabled": True}},
        "tenants": [
            {"name": "shop", "slot": 0, "viewers": [user_arn("alice")]},
            {"name": "bank", "slot": 1, "editors": [user_arn("bob")]},
            {"name": "shop-eu", "slot": 2, "admins": [user_arn("carol")]},
        ],
    })


def group(tenant: str) -> str:
    return logs.log_group_name(PLATFORM, tenant)


def denied(call: Any, *args: Any, **kwargs: Any) -> bool:
    try:
        call(*args, **kwargs)
    except ClientError as exc:
        # moto answers a JSON-protocol denial with IAM's XML error body: botocore then reports the
        # code as "403"; either way it must be an authorisation failure, not another error
        code = exc.response["Error"]["Code"]
        assert code in ("AccessDenied", "AccessDeniedException") or (
            code == "403" and "not authorized to perform" in str(exc)), exc
        return True
    return False


class World:
    def __init__(self, server: MotoLogsServer) -> None:
        self.server = server
        self.iam = server.client("iam")
        self.sts = server.client("sts")
        self.root_logs = server.client("logs")
        self.keys: dict[str, dict[str, str]] = {}

    def user(self, name: str) -> None:
        self.iam.create_user(UserName=name)
        # only the trust policy decides which reader role a person may assume
        self.iam.put_user_policy(UserName=name, PolicyName="assume-any", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.keys[name] = {"aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]}

    def role(self, name: str, trust: dict[str, Any], policy: dict[str, Any]) -> str:
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        return arn

    def assume(self, who: str, role_arn: str) -> Any:
        sts = self.server.client("sts", **self.keys[who])
        c = sts.assume_role(RoleArn=role_arn, RoleSessionName=who)["Credentials"]
        return self.server.client("logs", aws_access_key_id=c["AccessKeyId"],
                                  aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    server = MotoLogsServer().start()
    try:
        w = World(server)
        s = spec()
        kms = server.client("kms")
        key = kms.create_key(Policy=json.dumps(logs.key_policy("aws", REGION, ACCOUNT, PLATFORM)))["KeyMetadata"]["Arn"]
        for g in (*(group(t.name) for t in s.tenants), FLOW_LOGS, OUTSIDE):
            w.root_logs.create_log_group(logGroupName=g, kmsKeyId=key)
            w.root_logs.put_retention_policy(logGroupName=g, retentionInDays=s.observability.logs.retention_days)
            w.root_logs.create_log_stream(logGroupName=g, logStreamName="node-0")
            w.root_logs.put_log_events(logGroupName=g, logStreamName="node-0",
                                       logEvents=[{"timestamp": NOW, "message": f"secret of {g}"}])
        for person in PEOPLE:
            w.user(person)
        # "kubelet" stands in for the router's web identity (the IRSA trust: tests/components/test_logs.py)
        w.user("kubelet")
        w.readers = {t.name: w.role(logs.reader_role_name(PLATFORM, t.name),
                                    logs.reader_trust_policy(logs.tenant_principals(t)),
                                    logs.reader_policy("aws", REGION, ACCOUNT, PLATFORM, t.name))
                     for t in s.tenants}
        kubelet = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn("kubelet")},
                                                           "Action": "sts:AssumeRole"}]}
        w.router = w.role(logs.router_role_name(PLATFORM), kubelet,
                          logs.router_policy("aws", REGION, ACCOUNT, PLATFORM))
        w.kubelet_trust = kubelet
        server.set_enforcement(True)
        yield w
    finally:
        server.stop()


@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_each_tenants_people_read_their_group_and_no_other(world: World, person: str) -> None:
    own = PEOPLE[person]
    for tenant, role in world.readers.items():
        if tenant != own:  # the trust policy: another tenant's reader role is not assumable
            assert denied(world.assume, person, role), f"{person} assumed {tenant}'s reader role"
    reader = world.assume(person, world.readers[own])
    events = reader.get_log_events(logGroupName=group(own), logStreamName="node-0", startFromHead=True)["events"]
    assert [e["message"] for e in events] == [f"secret of {group(own)}"]
    assert reader.filter_log_events(logGroupName=group(own))["events"]
    assert reader.describe_log_streams(logGroupName=group(own))["logStreams"]
    qid = reader.start_query(logGroupName=group(own), startTime=0, endTime=2_000_000_000,
                             queryString="fields @message")["queryId"]
    assert "status" in reader.get_query_results(queryId=qid)
    for other in (*(group(t) for t in world.readers if t != own), FLOW_LOGS, OUTSIDE):
        assert denied(reader.get_log_events, logGroupName=other, logStreamName="node-0"), other
        assert denied(reader.filter_log_events, logGroupName=other), other
        assert denied(reader.describe_log_streams, logGroupName=other), other
        assert denied(reader.start_query, logGroupName=other, startTime=0, endTime=1, queryString="fields @message")
        # a query over its own group AND another is refused whole
        assert denied(reader.start_query, logGroupNames=[group(own), other], startTime=0, endTime=1,
                      queryString="fields @message")
    # readers only read
    assert denied(reader.put_log_events, logGroupName=group(own), logStreamName="node-0",
                  logEvents=[{"timestamp": NOW, "message": "forged"}])
    assert denied(reader.create_log_stream, logGroupName=group(own), logStreamName="x")


def test_the_router_writes_only_the_tenant_container_groups(world: World) -> None:
    router = world.assume("kubelet", world.router)
    for tenant in world.readers:  # every tenant's group: by design (routing is proven by the collector test)
        router.create_log_stream(logGroupName=group(tenant), logStreamName="node-1")
        router.put_log_events(logGroupName=group(tenant), logStreamName="node-1",
                              logEvents=[{"timestamp": NOW, "message": "routed"}])
    for g in (FLOW_LOGS, OUTSIDE):  # not the platform's flow logs (no forged records), nothing outside
        assert denied(router.create_log_stream, logGroupName=g, logStreamName="node-1"), g
        assert denied(router.put_log_events, logGroupName=g, logStreamName="node-0",
                      logEvents=[{"timestamp": NOW, "message": "forged"}]), g
    assert denied(router.create_log_group, logGroupName=f"/tenancy/{PLATFORM}/new/containers")
    assert denied(router.get_log_events, logGroupName=group("shop"), logStreamName="node-0")  # no read
    assert denied(router.filter_log_events, logGroupName=group("shop"))
    assert denied(router.delete_log_group, logGroupName=group("shop"))


def test_negative_control_one_wildcard_wider_is_caught(world: World) -> None:
    """The judge is not blind: a reader policy on ``/tenancy/<platform>/*`` reads another tenant's
    group, and a router policy on ``/tenancy/<platform>/*`` writes into the flow logs."""
    world.server.set_enforcement(False)
    wide_reader = json.loads(json.dumps(logs.reader_policy("aws", REGION, ACCOUNT, PLATFORM, "shop"))
                             .replace(group("shop"), f"/tenancy/{PLATFORM}/*"))
    wide_router = json.loads(json.dumps(logs.router_policy("aws", REGION, ACCOUNT, PLATFORM))
                             .replace("/*/containers", "/*"))
    trust = logs.reader_trust_policy([user_arn("alice")])
    r = world.role("wide-reader", trust, wide_reader)
    w = world.role("wide-router", world.kubelet_trust, wide_router)
    world.server.set_enforcement(True)
    try:
        reader = world.assume("alice", r)
        assert reader.get_log_events(logGroupName=group("bank"), logStreamName="node-0", startFromHead=True)["events"]
        router = world.assume("kubelet", w)
        router.put_log_events(logGroupName=FLOW_LOGS, logStreamName="node-0",
                              logEvents=[{"timestamp": NOW, "message": "forged"}])
    finally:
        world.server.set_enforcement(False)
        for name in ("wide-reader", "wide-router"):
            world.iam.delete_role_policy(RoleName=name, PolicyName="p")
            world.iam.delete_role(RoleName=name)
        world.server.set_enforcement(True)


def test_negative_control_moto_alone_is_blind_to_log_groups() -> None:
    """Why tests/helpers/moto_logs.py exists: plain moto judges CloudWatch Logs on ``*``, so the
    tenant-scoped reader policy is denied even its own group."""
    from tests.helpers.moto_server import MotoServer

    with MotoServer() as plain:
        w = World(plain)
        w.root_logs.create_log_group(logGroupName=group("shop"))
        w.user("alice")
        role = w.role("r", logs.reader_trust_policy([user_arn("alice")]),
                      logs.reader_policy("aws", REGION, ACCOUNT, PLATFORM, "shop"))
        plain.set_enforcement(True)
        assert denied(w.assume("alice", role).filter_log_events, logGroupName=group("shop"))
