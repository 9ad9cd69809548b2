"""``AwsClient.resolve`` against the AWS API emulator (moto): the account from STS, a key by its
alias, a security group by its name (a same-named group of another platform is not it), a role by
its name; an alias, group or role AWS does not hold is ``missing`` (its field then fails, not
"not verified"), and resolve_live turns that into a failure naming the object."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy.spec.wire import PLATFORM_TAG
from tenancy.verify.kube import Live
from tenancy.verify.resolve import ACCOUNT, IAM_ROLE, KMS_KEY, SECURITY_GROUP, CloudRef, resolve_live
from tests.helpers.verify_aws import aws_client

pytestmark = pytest.mark.slow


def test_resolve_finds_each_kind_by_name_and_names_what_is_missing(moto_server: Any) -> None:
    kms, ec2, iam = moto_server.client("kms"), moto_server.client("ec2"), moto_server.client("iam")
    key = kms.create_key(Description="volumes")["KeyMetadata"]
    kms.create_alias(AliasName="alias/acme-ebs-volumes", TargetKeyId=key["KeyId"])
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]

    def group(vpc_id: str, platform: str) -> str:
        return str(ec2.create_security_group(
            GroupName="acme-beta-pods", Description="x", VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group",
                                "Tags": [{"Key": PLATFORM_TAG, "Value": platform}]}])["GroupId"])

    ours, _theirs = group(vpc, "acme"), group(other_vpc, "other")
    role = iam.create_role(RoleName="acme.alpha.app", AssumeRolePolicyDocument="{}")["Role"]["Arn"]

    refs = {"account": CloudRef(ACCOUNT, "", "id"),
            "key": CloudRef(KMS_KEY, "alias/acme-ebs-volumes", "arn"),
            "key id": CloudRef(KMS_KEY, "alias/acme-ebs-volumes", "id"),
            "group": CloudRef(SECURITY_GROUP, "acme-beta-pods", "id", ((PLATFORM_TAG, "acme"),)),
            "role": CloudRef(IAM_ROLE, "acme.alpha.app", "arn"),
            "gone key": CloudRef(KMS_KEY, "alias/acme-gone", "arn"),
            "gone group": CloudRef(SECURITY_GROUP, "acme-gone", "id", ((PLATFORM_TAG, "acme"),)),
            "gone role": CloudRef(IAM_ROLE, "acme.gone.app", "arn")}
    res = aws_client(moto_server).resolve(list(refs.values()))
    assert res.values == {refs["account"]: "123456789012", refs["key"]: key["Arn"], refs["key id"]: key["KeyId"],
                          refs["group"]: ours, refs["role"]: role}
    assert set(res.missing) == {refs["gone key"], refs["gone group"], refs["gone role"]}
    assert "alias/acme-gone" in res.missing[refs["gone key"]]

    # a rendered object naming the missing key: the field fails (the platform lacks the key)
    mock_arn = "arn:aws:kms:eu-west-1:111122223333:key/0000"
    resources = [{"type": "aws:kms/key:Key", "name": "k", "id": "0000", "custom": True, "inputs": {},
                  "outputs": {"arn": mock_arn, "keyId": "0000"}},
                 {"type": "aws:kms/alias:Alias", "name": "a", "custom": True,
                  "inputs": {"name": "alias/acme-gone", "targetKeyId": "0000"}, "outputs": {}}]
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "gp3"},
          "parameters": {"kmsKeyId": mock_arn}}
    live = Live([({"type": "kubernetes:storage.k8s.io/v1:StorageClass", "tenant": None}, sc,
                  {**sc, "parameters": {"kmsKeyId": key["Arn"]}})], [], {})
    _, results = resolve_live(live, resources, aws_client(moto_server).resolve(
        [CloudRef(KMS_KEY, "alias/acme-gone", "arn"), CloudRef(ACCOUNT, "", "id")]))
    assert [(r.status, r.object) for r in results] == [("fail", "StorageClass gp3 (cloud values)")]
    assert "no key has the alias alias/acme-gone" in results[0].detail
