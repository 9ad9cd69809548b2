"""Pure tests of the identity policy documents and names (no Pulumi)."""

from __future__ import annotations

import json

import parliament
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenancy.plan import iam
from tenancy.spec import naming
from tests.helpers import iam_checks

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "arn:aws:s3:::acme-tenant-data-abc"
ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF"
PROVIDER = f"arn:aws:iam::111122223333:oidc-provider/{ISSUER}"

labels = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


def test_via_service_follows_the_keys_region_and_partition() -> None:
    assert iam.s3_via_service(KEY) == "s3.eu-west-1.amazonaws.com"
    assert iam.s3_via_service("arn:aws-cn:kms:cn-north-1:111122223333:key/x") == "s3.cn-north-1.amazonaws.com.cn"
    with pytest.raises(ValueError):
        iam.s3_via_service("arn:aws:s3:::bucket")
    with pytest.raises(ValueError):
        iam.Arn.parse("not-an-arn")


def test_irsa_trust_refuses_a_provider_of_another_issuer() -> None:
    doc = iam.irsa_trust_policy(PROVIDER, f"https://{ISSUER}", "alpha", "app")
    assert iam_checks.irsa_trust_problems(doc, provider_arn=PROVIDER, issuer=ISSUER, namespace="alpha",
                                          service_account="app") == []
    with pytest.raises(ValueError, match="not the provider of issuer"):
        iam.irsa_trust_policy(PROVIDER, "oidc.eks.eu-west-1.amazonaws.com/id/OTHER", "alpha", "app")


def test_bucket_key_off_pins_the_encryption_context_to_the_tenant_prefix() -> None:
    doc = iam.tenant_data_policy(BUCKET, "alpha", KEY, bucket_key=False)
    kms = doc["Statement"][2]
    assert kms["Condition"]["StringLike"] == {"kms:EncryptionContext:aws:s3:arn": f"{BUCKET}/tenants/alpha/*"}
    ctx = {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert iam_checks.allows(doc, "kms:GenerateDataKey", KEY,
                             {**ctx, "kms:EncryptionContext:aws:s3:arn": f"{BUCKET}/tenants/alpha/x"})
    assert not iam_checks.allows(doc, "kms:Decrypt", KEY,
                                 {**ctx, "kms:EncryptionContext:aws:s3:arn": f"{BUCKET}/tenants/alphabet/x"})
    no_via = {"kms:EncryptionContext:aws:s3:arn": f"{BUCKET}/tenants/alpha/x"}
    assert not iam_checks.allows(doc, "kms:Decrypt", KEY, no_via)


def test_tenant_policy_rejects_object_arns_as_bucket() -> None:
    with pytest.raises(ValueError):
        iam.tenant_data_policy(f"{BUCKET}/tenants", "alpha", KEY)


@given(a=labels, b=labels)
def test_no_tenant_policy_reaches_another_tenant(a: str, b: str) -> None:
    """For any two distinct tenant names (including one a prefix of the other)."""
    if a == b:
        return
    doc = iam.tenant_data_policy(BUCKET, a, KEY)
    assert iam_checks.allows(doc, "s3:PutObject", f"{BUCKET}/tenants/{a}/x")
    assert not iam_checks.allows(doc, "s3:PutObject", f"{BUCKET}/tenants/{b}/x")
    assert not iam_checks.allows(doc, "s3:ListBucket", BUCKET, {"s3:prefix": f"tenants/{b}/"})
    assert not iam_checks.allows(doc, "s3:ListBucket", BUCKET, {"s3:prefix": f"tenants/{b}"})


@pytest.mark.parametrize("bucket_key", [True, False])
def test_parliament_clean(bucket_key: bool) -> None:
    doc = iam.tenant_data_policy(BUCKET, "alpha", KEY, bucket_key=bucket_key)
    assert parliament.analyze_policy_string(json.dumps(doc)).findings == []


def test_no_document_uses_resource_star() -> None:
    ap = "arn:aws:s3:eu-west-1:111122223333:accesspoint/acme-alpha-12345678"
    docs = [iam.tenant_data_policy(BUCKET, "alpha", KEY, access_point_arn=ap), iam.data_bucket_policy(BUCKET, KEY),
            iam.access_log_bucket_policy("arn:aws:s3:::logs", BUCKET, "111122223333"),
            iam.access_point_policy(ap, "alpha", ["arn:aws:iam::111122223333:role/acme.alpha.app"])]
    for doc in docs:
        for s in doc["Statement"]:
            assert "*" not in iam_checks._list(s.get("Resource", [])) and "*" not in iam_checks._list(
                s.get("NotResource", []))


# ---------------------------------------------------------------------------------------------- names


def test_role_names_cannot_collide_across_tenant_and_service_account_boundaries() -> None:
    assert naming.service_account_role_name("acme", "team-a", "x") != naming.service_account_role_name(
        "acme", "team", "a-x")
    assert naming.service_account_role_name("acme", "alpha", "app") == "acme.alpha.app"


@given(p=labels, t1=labels, t2=labels, s1=labels, s2=labels)
def test_role_names_are_injective(p: str, t1: str, t2: str, s1: str, s2: str) -> None:
    if (t1, s1) != (t2, s2):
        assert naming.service_account_role_name(p, t1, s1) != naming.service_account_role_name(p, t2, s2)


def test_tenant_prefix_ends_with_a_slash() -> None:
    assert naming.tenant_s3_prefix("alpha") == "tenants/alpha/"


def test_bucket_prefixes_fit_s3_for_the_longest_platform_name() -> None:
    longest = "p" * naming.PLATFORM_NAME_MAX
    assert len(naming.data_bucket_prefix(longest)) <= naming.S3_BUCKET_PREFIX_MAX
    assert len(naming.access_log_bucket_prefix(longest)) <= naming.S3_BUCKET_PREFIX_MAX


@given(p=labels, t=st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True))
def test_access_point_names_are_valid(p: str, t: str) -> None:
    name = naming.access_point_name(p, t)
    assert 3 <= len(name) <= naming.S3_ACCESS_POINT_NAME_MAX
    assert name[0].isalnum() and name[-1].isalnum()
    assert all(c.islower() or c.isdigit() or c == "-" for c in name)
    assert not name.endswith("-s3alias") and not name.startswith("xn--")


def test_access_point_names_differ_where_readable_parts_collide() -> None:
    assert naming.access_point_name("a-b", "c") != naming.access_point_name("a", "b-c")
    long_a, long_b = "t" * 60 + "a", "t" * 60 + "b"
    assert naming.access_point_name("acme", long_a) != naming.access_point_name("acme", long_b)
