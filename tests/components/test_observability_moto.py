"""The CloudWatch agent's and AWS Backup's roles on a real AWS API (moto) with IAM enforcement on:
the rendered roles and policies are created as rendered (the render's mock account id swapped for
moto's), the agent's credentials are obtained (IRSA web identity) and used.

moto authorises CloudWatch Logs calls against the resource ``*`` (no ``_determine_resource`` in its
logs responses) and names CloudWatch actions by the signing name (``monitoring:…``), so moto judges
which log ACTIONS the role may call at all (reading any log event: never); which GROUP a write may
reach is judged by IAM's matching rules (tests/helpers/iam_checks.py) over the policy IAM (moto)
stores and the log-group ARNs moto holds. Negative control: the AWS managed
CloudWatchAgentServerPolicy (what the CloudWatch docs attach) lets the same credentials write into
a tenant's group, judged by moto itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tenancy.render import RenderResult, render_spec
from tests.fixtures.specs import spec_with
from tests.helpers import iam_checks

pytestmark = pytest.mark.slow

TENANT_GROUP = "/tenancy/acme/alpha/app"  # a tenant's log group (observability.logs' naming)
AGENT_GROUP = "/aws/containerinsights/acme/performance"


@pytest.fixture(scope="module")
def rendered() -> RenderResult:
    return render_spec(spec_with(observability={"metrics": {"enabled": True}, "backup": {"enabled": True}}))


def _allowed(call: Any) -> bool:
    try:
        call()
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException", "403"):
            return False
        raise


def _role(result: RenderResult, name: str) -> dict[str, Any]:
    return next(r for r in result.of_type("aws:iam/role:Role") if r["inputs"]["name"] == name)


def test_agent_and_backup_roles_with_iam_enforcement(moto_server: Any, rendered: RenderResult) -> None:
    iam, logs = moto_server.client("iam"), moto_server.client("logs")
    agent = _role(rendered, "acme_cloudwatch-agent")
    [inline] = [p for p in rendered.of_type("aws:iam/rolePolicy:RolePolicy")
                if p["inputs"]["role"] == "acme_cloudwatch-agent"]
    arn = iam.create_role(RoleName="acme_cloudwatch-agent",
                          AssumeRolePolicyDocument=agent["inputs"]["assumeRolePolicy"])["Role"]["Arn"]
    account = moto_server.client("sts").get_caller_identity()["Account"]
    iam.put_role_policy(RoleName="acme_cloudwatch-agent", PolicyName="cloudwatch-agent",
                        PolicyDocument=inline["inputs"]["policy"].replace(":111122223333:", f":{account}:"))
    backup = _role(rendered, "acme_backup")
    iam.create_role(RoleName="acme_backup", AssumeRolePolicyDocument=backup["inputs"]["assumeRolePolicy"])
    for a in rendered.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        if a["inputs"]["role"] == "acme_backup":  # real AWS managed policies: a mistyped one fails here
            iam.attach_role_policy(RoleName="acme_backup", PolicyArn=a["inputs"]["policyArn"])
    trust = iam.get_role(RoleName="acme_backup")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "backup.amazonaws.com"}]
    assert len(iam.list_attached_role_policies(RoleName="acme_backup")["AttachedPolicies"]) == 2
    for g in (TENANT_GROUP, AGENT_GROUP):
        logs.create_log_group(logGroupName=g)
        logs.create_log_stream(logGroupName=g, logStreamName="s")
    c = moto_server.client("sts").assume_role_with_web_identity(
        RoleArn=arn, RoleSessionName="agent", WebIdentityToken="moto-does-not-check-tokens")["Credentials"]
    creds = {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
             "aws_session_token": c["SessionToken"]}
    alogs = moto_server.client("logs", **creds)
    event = [{"timestamp": 1733468400000, "message": "{}"}]

    def probes() -> dict[str, bool]:
        return {
            "write tenant group": _allowed(lambda: alogs.put_log_events(
                logGroupName=TENANT_GROUP, logStreamName="s", logEvents=event)),
            "read tenant group": _allowed(lambda: alogs.get_log_events(logGroupName=TENANT_GROUP, logStreamName="s")),
            "filter tenant group": _allowed(lambda: alogs.filter_log_events(logGroupName=TENANT_GROUP)),
            "query tenant group": _allowed(lambda: alogs.start_query(
                logGroupName=TENANT_GROUP, startTime=0, endTime=1, queryString="fields @message")),
        }

    moto_server.set_enforcement(True)
    try:
        got = probes()
    finally:
        moto_server.set_enforcement(False)
    assert got == {"write tenant group": False, "read tenant group": False, "filter tenant group": False,
                   "query tenant group": False}, got
    # Which group a write reaches: the stored policy over moto's own log-group ARNs.
    stored = iam.get_role_policy(RoleName="acme_cloudwatch-agent", PolicyName="cloudwatch-agent")["PolicyDocument"]
    arns = {g["logGroupName"]: g["arn"].removesuffix(":*") for g in logs.describe_log_groups()["logGroups"]}
    for action in ("logs:PutLogEvents", "logs:CreateLogStream"):
        assert iam_checks.allows(stored, action, arns[AGENT_GROUP] + ":log-stream:s"), action
        assert not iam_checks.allows(stored, action, arns[TENANT_GROUP] + ":log-stream:s"), action
    # Negative control: the managed policy the CloudWatch docs attach writes into the tenant's group.
    iam.delete_role_policy(RoleName="acme_cloudwatch-agent", PolicyName="cloudwatch-agent")
    iam.attach_role_policy(RoleName="acme_cloudwatch-agent",
                           PolicyArn="arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy")
    moto_server.set_enforcement(True)
    try:
        managed = probes()
    finally:
        moto_server.set_enforcement(False)
    assert managed["write tenant group"] is True and managed["read tenant group"] is False
