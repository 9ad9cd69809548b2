"""Render tests of the identity layer: the shared bucket and every tenant role, parsed from the
registered resources and judged by independent checks (tests/helpers/iam_checks.py) and by
parliament."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import parliament
import pytest

from tenancy.plan.validate import load_platform
from tenancy.render.result import RenderResult
from tenancy.spec import SpecError, naming
from tests.fixtures.specs import spec_with, tenant
from tests.helpers import iam_checks
from tests.helpers.identity_render import REGION, cluster_identity_values, render_identity

TENANTS = [tenant("alpha", 0, serviceAccounts=["app", "batch"]), tenant("alphabet", 1, serviceAccounts=["app"]),
           tenant("beta", 2, serviceAccounts=["api"]), tenant("gamma", 3)]
"""``alpha``/``alphabet`` share a leading string: a prefix without its trailing ``/`` would leak."""
NAMES = [t["name"] for t in TENANTS]


@cache
def _render(mode: str = "irsa", **identity: Any) -> RenderResult:
    return render_identity(spec_with(TENANTS, identity={"mode": mode, **identity}))


def _one(result: RenderResult, type_token: str) -> dict[str, Any]:
    found = result.of_type(type_token)
    assert len(found) == 1, [r["name"] for r in found]
    return found[0]


def _bucket(result: RenderResult) -> tuple[str, str, str]:
    bucket = _one(result, "aws:s3/bucket:Bucket") if not result.spec.identity.access_logging else next(
        r for r in result.of_type("aws:s3/bucket:Bucket") if r["name"] == "tenant-data-bucket")
    key = _one(result, "aws:kms/key:Key")
    return bucket["outputs"]["bucket"], bucket["outputs"]["arn"], key["outputs"]["arn"]


def _roles(result: RenderResult) -> dict[str, dict[str, Any]]:
    return {r["inputs"]["name"]: r for r in result.of_type("aws:iam/role:Role")}


def _role_policies(result: RenderResult) -> dict[str, dict[str, Any]]:
    """Role id → its inline policy resource."""
    return {r["inputs"]["role"]: r for r in result.of_type("aws:iam/rolePolicy:RolePolicy")}


# ----------------------------------------------------------------------------------------------
# Roles: one per tenant service account, trust and permissions


@pytest.mark.parametrize("bucket_key", [True, False])
def test_every_service_account_gets_a_role_scoped_to_its_tenant_prefix(bucket_key: bool) -> None:
    result = _render(bucketKey=bucket_key)
    _, bucket_arn, key_arn = _bucket(result)
    roles, policies = _roles(result), _role_policies(result)
    cluster = cluster_identity_values(result.spec)
    expected = {naming.service_account_role_name("acme", t["name"], sa): (t["name"], sa)
                for t in TENANTS for sa in t.get("serviceAccounts", [])}
    assert set(roles) == set(expected)
    for role_name, (tname, sa) in expected.items():
        role = roles[role_name]
        assert role["tenant"] == tname
        assert role["inputs"]["tags"][naming.TENANT_LABEL] == tname
        assert len(role_name) <= naming.IAM_ROLE_NAME_MAX
        trust = role["inputs"]["assumeRolePolicy"]
        assert iam_checks.irsa_trust_problems(trust, provider_arn=cluster["oidc_provider_arn"],
                                              issuer=cluster["oidc_issuer"], namespace=tname,
                                              service_account=sa) == []
        assert len(trust) <= 2048, "role trust policy over IAM's default 2,048 characters"
        policy = policies[role["id"]]
        assert policy["tenant"] == tname and policy["parent"] == role["urn"]
        doc = policy["inputs"]["policy"]
        assert len(doc) <= 10240, "inline policies over IAM's 10,240 characters per role"
        assert iam_checks.tenant_policy_problems(
            doc, bucket_arn=bucket_arn, kms_key_arn=key_arn, tenant=tname, region=REGION, bucket_key=bucket_key,
            others=[n for n in NAMES if n != tname]) == []
    # The role ARNs are the tenants' outputs, for the bundle layer and other stacks.
    for tname in NAMES:
        arns = result.stack_outputs["tenants"][tname]["roleArns"]
        assert arns == {sa: roles[naming.service_account_role_name("acme", tname, sa)]["outputs"]["arn"]
                        for sa in next(t for t in TENANTS if t["name"] == tname).get("serviceAccounts", [])}


def test_a_tenant_without_service_accounts_gets_no_identity() -> None:
    result = _render()
    assert [r for r in result.for_tenant("gamma") if r["type"].startswith("aws:iam")] == []


# Negative controls: the checks above must catch a broken policy or trust.
def _alpha_policy() -> tuple[dict[str, Any], str, str]:
    result = _render()
    _, bucket_arn, key_arn = _bucket(result)
    role = _roles(result)["acme.alpha.app"]
    return json.loads(_role_policies(result)[role["id"]]["inputs"]["policy"]), bucket_arn, key_arn


@pytest.mark.parametrize("breakage", ["all-tenants", "no-trailing-slash", "star", "no-prefix-condition",
                                      "no-via-service", "bucket-wide-list"])
def test_negative_control_broken_permission_policies_are_caught(breakage: str) -> None:
    doc, bucket_arn, key_arn = _alpha_policy()
    objects, listing, kms = doc["Statement"]
    if breakage == "all-tenants":
        objects["Resource"] = f"{bucket_arn}/tenants/*"
    elif breakage == "no-trailing-slash":
        objects["Resource"] = f"{bucket_arn}/tenants/alpha*"
    elif breakage == "star":
        kms["Resource"] = "*"
    elif breakage == "no-prefix-condition":
        del listing["Condition"]
    elif breakage == "no-via-service":
        del kms["Condition"]["StringEquals"]["kms:ViaService"]
    elif breakage == "bucket-wide-list":
        listing["Condition"]["StringLike"]["s3:prefix"] = ["*"]
    problems = iam_checks.tenant_policy_problems(
        doc, bucket_arn=bucket_arn, kms_key_arn=key_arn, tenant="alpha", region=REGION, bucket_key=True,
        others=["alphabet", "beta"])
    assert problems, f"the check missed a {breakage} policy"


@pytest.mark.parametrize("field,value", [("sub", "system:serviceaccount:alpha:*"), ("aud", None),
                                         ("principal", "arn:aws:iam::111122223333:oidc-provider/other")])
def test_negative_control_broken_trust_is_caught(field: str, value: str | None) -> None:
    result = _render()
    cluster = cluster_identity_values(result.spec)
    doc = json.loads(_roles(result)["acme.alpha.app"]["inputs"]["assumeRolePolicy"])
    st = doc["Statement"][0]
    issuer = cluster["oidc_issuer"]
    if field == "principal":
        st["Principal"] = {"Federated": value}
    elif value is None:
        del st["Condition"]["StringEquals"][f"{issuer}:{field}"]
    else:
        st["Condition"]["StringEquals"][f"{issuer}:{field}"] = value
    assert iam_checks.irsa_trust_problems(doc, provider_arn=cluster["oidc_provider_arn"], issuer=issuer,
                                          namespace="alpha", service_account="app")


# ----------------------------------------------------------------------------------------------
# Parliament: every permission policy lints clean


def _parliament(doc: str | dict[str, Any]) -> list[tuple[str, Any]]:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return [(f.issue, f.detail) for f in parliament.analyze_policy_string(text).findings]


def _is_access_point_statement(s: dict[str, Any]) -> bool:
    return all(":accesspoint/" in r for r in iam_checks._list(s.get("Resource", [])))


def _parliament_known_gap_access_points(findings: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Parliament 1.6's privilege table knows only bucket/object ARN formats for S3 object and
    list actions, not access point ARNs (``arn:aws:s3:<region>:<account>:accesspoint/<name>``,
    valid per the S3 Service Authorization Reference). Only RESOURCE_MISMATCH findings whose
    every required format is a bucket/object format are dropped — and only for documents made
    solely of access point statements (see below)."""
    return [f for f in findings if not (
        f[0] == "RESOURCE_MISMATCH"
        and all(d.get("required_format") in ("arn:*:s3:::*/*", "arn:*:s3:::*") for d in f[1]))]


@pytest.mark.parametrize("variant", [{}, {"bucketKey": False}, {"accessPoints": True}, {"mode": "podIdentity"}])
def test_parliament_finds_nothing_in_any_permission_policy(variant: dict[str, Any]) -> None:
    result = _render(**variant) if "mode" not in variant else _render(variant["mode"])
    policies = result.of_type("aws:iam/rolePolicy:RolePolicy")
    assert policies
    for p in policies:
        doc = json.loads(p["inputs"]["policy"])
        plain = [s for s in doc["Statement"] if not _is_access_point_statement(s)]
        ap = [s for s in doc["Statement"] if _is_access_point_statement(s)]
        assert _parliament({**doc, "Statement": plain}) == [], p["name"]
        if ap:
            assert _parliament_known_gap_access_points(_parliament({**doc, "Statement": ap})) == [], p["name"]


def test_parliament_negative_control_flags_a_bad_policy() -> None:
    doc, _, _ = _alpha_policy()
    doc["Statement"][0]["Action"].append("s3:GetObjectt")  # a typo'd action
    doc["Statement"][1]["Resource"] = "*"
    assert _parliament(doc)


def test_bucket_policies_lint_clean_but_for_parliaments_tls_version_gap() -> None:
    """Parliament reads Numeric condition values with ``^\\d+$`` (so ``1.2`` fails) and lacks
    ``s3:TlsVersion`` for two actions of ``s3:*``; only findings naming s3:TlsVersion are dropped."""
    result = _render(accessLogging=True)
    for p in result.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        findings = [f for f in _parliament(p["inputs"]["policy"]) if "s3:TlsVersion" not in str(f[1])]
        assert findings == [], p["name"]


# ----------------------------------------------------------------------------------------------
# The shared bucket


def test_the_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    result = _render()
    name, bucket_arn, key_arn = _bucket(result)
    bucket = _one(result, "aws:s3/bucket:Bucket")
    assert bucket["tenant"] is None
    assert name.startswith(naming.data_bucket_prefix("acme"))
    assert bucket["inputs"]["bucketPrefix"] == naming.data_bucket_prefix("acme")
    assert len(bucket["inputs"]["bucketPrefix"]) <= naming.S3_BUCKET_PREFIX_MAX
    assert not bucket["inputs"].get("forceDestroy")
    key = _one(result, "aws:kms/key:Key")
    assert key["inputs"]["enableKeyRotation"] is True
    assert _one(result, "aws:kms/alias:Alias")["inputs"]["name"] == "alias/tenancy/acme/tenant-data"

    pab = _one(result, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")["inputs"]
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))
    assert _one(result, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")["inputs"]["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    sse = _one(result, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse["inputs"]["rules"] == [{"applyServerSideEncryptionByDefault": {
        "sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}, "bucketKeyEnabled": True}]
    assert _one(result, "aws:s3/bucketVersioning:BucketVersioning")["inputs"]["versioningConfiguration"] == {
        "status": "Enabled"}
    for r in result.resources:
        if r["type"].startswith("aws:s3/bucket") and r["type"] != "aws:s3/bucket:Bucket":
            assert r["inputs"]["bucket"] == bucket["id"]

    policy = iam_checks.statements(_one(result, "aws:s3/bucketPolicy:BucketPolicy")["inputs"]["policy"])
    tls = [s for s in policy if s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    assert len(tls) == 1 and tls[0]["Effect"] == "Deny" and tls[0]["Principal"] == "*"
    assert tls[0]["Action"] == "s3:*" and sorted(tls[0]["Resource"]) == [bucket_arn, f"{bucket_arn}/*"]
    assert all(s["Effect"] == "Deny" for s in policy), "the bucket policy grants nothing: tenants are scoped by IAM"
    wrong_key = [s for s in policy if "ArnNotEqualsIfExists" in s.get("Condition", {})]
    assert wrong_key and wrong_key[0]["Condition"]["ArnNotEqualsIfExists"] == {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}
    for s in policy:
        assert "*" not in iam_checks._list(s["Resource"])


def test_data_is_retained_on_delete_always_and_protected_with_deletion_protection() -> None:
    plain = _render()
    for t in ("aws:s3/bucket:Bucket", "aws:kms/key:Key"):
        r = _one(plain, t)
        assert r["retainOnDelete"] is True and r["protect"] is False, t
    protected = render_identity(spec_with(TENANTS, cluster={"deletionProtection": True},
                                          identity={"accessLogging": True}))
    for r in protected.of_type("aws:s3/bucket:Bucket") + protected.of_type("aws:kms/key:Key"):
        assert r["retainOnDelete"] is True and r["protect"] is True, r["name"]


def test_lifecycle_and_access_logging_options() -> None:
    plain = _render()
    rules = _one(plain, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["inputs"]["rules"]
    assert [r["id"] for r in rules] == ["abort-incomplete-multipart-uploads"]
    assert plain.of_type("aws:s3/bucketLogging:BucketLogging") == []

    result = _render(noncurrentVersionExpirationDays=30, accessLogging=True)
    rules = _one(result, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["inputs"]["rules"]
    assert {"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {"prefix": ""},
            "noncurrentVersionExpiration": {"noncurrentDays": 30}} in rules
    buckets = {r["name"]: r for r in result.of_type("aws:s3/bucket:Bucket")}
    data, logs = buckets["tenant-data-bucket"], buckets["tenant-data-logs"]
    assert logs["inputs"]["bucketPrefix"] == naming.access_log_bucket_prefix("acme")
    logging = _one(result, "aws:s3/bucketLogging:BucketLogging")["inputs"]
    assert logging["bucket"] == data["id"] and logging["targetBucket"] == logs["id"]
    pabs = [r for r in result.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
            if r["inputs"]["bucket"] == logs["id"]]
    assert len(pabs) == 1 and all(pabs[0]["inputs"][k] for k in ("blockPublicAcls", "restrictPublicBuckets"))
    policy = next(r for r in result.of_type("aws:s3/bucketPolicy:BucketPolicy") if r["inputs"]["bucket"] == logs["id"])
    allow = [s for s in iam_checks.statements(policy["inputs"]["policy"]) if s["Effect"] == "Allow"]
    assert allow == [{
        "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"{logs['outputs']['arn']}/*",
        "Condition": {"ArnEquals": {"aws:SourceArn": data["outputs"]["arn"]},
                      "StringEquals": {"aws:SourceAccount": "111122223333"}}}]


# ----------------------------------------------------------------------------------------------
# Pod Identity mode


def test_pod_identity_mode_trusts_the_eks_service_for_exactly_one_service_account() -> None:
    with_arn = True  # the platform always hands the cluster ARN over
    result = render_identity(spec_with(TENANTS, identity={"mode": "podIdentity"}))
    cluster = cluster_identity_values(result.spec)
    roles = _roles(result)
    assocs = {r["name"]: r for r in result.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")}
    assert set(assocs) == set(roles)
    for role_name, role in roles.items():
        _, tname, sa = role_name.split(".")
        assert iam_checks.pod_identity_trust_problems(
            role["inputs"]["assumeRolePolicy"], namespace=tname, service_account=sa,
            cluster_key="eks-cluster-arn" if with_arn else "eks-cluster-name",
            cluster=cluster["cluster_arn"] if with_arn else "acme") == []
        a = assocs[role_name]
        assert a["tenant"] == tname
        assert {k: a["inputs"][k] for k in ("clusterName", "namespace", "serviceAccount", "roleArn")} == {
            "clusterName": "acme", "namespace": tname, "serviceAccount": sa, "roleArn": role["outputs"]["arn"]}
        assert not a["inputs"].get("disableSessionTags"), "the trust conditions need Pod Identity's session tags"
    assert "oidc-provider" not in json.dumps([r["inputs"] for r in roles.values()])


def test_pod_identity_negative_control_other_namespace_is_caught() -> None:
    result = render_identity(spec_with(TENANTS, identity={"mode": "podIdentity"}))
    doc = json.loads(_roles(result)["acme.alpha.app"]["inputs"]["assumeRolePolicy"])
    doc["Statement"][0]["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"] = "beta"
    assert iam_checks.pod_identity_trust_problems(doc, namespace="alpha", service_account="app",
                                                  cluster_key="eks-cluster-arn",
                                                  cluster=cluster_identity_values(result.spec)["cluster_arn"])


# ----------------------------------------------------------------------------------------------
# Access points


def test_access_points_are_limited_to_the_tenant_prefix() -> None:
    result = _render(accessPoints=True)
    _, bucket_arn, key_arn = _bucket(result)
    aps = {r["tenant"]: r for r in result.of_type("aws:s3/accessPoint:AccessPoint")}
    assert set(aps) == set(NAMES)  # gamma too: no roles, and its policy denies everything else
    pols = {r["tenant"]: r for r in result.of_type("aws:s3control/accessPointPolicy:AccessPointPolicy")}
    roles = _roles(result)
    for tname, ap in aps.items():
        assert ap["inputs"]["name"] == naming.access_point_name("acme", tname)
        assert len(ap["inputs"]["name"]) <= naming.S3_ACCESS_POINT_NAME_MAX
        assert all(ap["inputs"]["publicAccessBlockConfiguration"].values())
        ap_arn = ap["outputs"]["arn"]
        doc = pols[tname]["inputs"]["policy"]
        assert pols[tname]["inputs"]["accessPointArn"] == ap_arn
        own_roles = sorted(r["outputs"]["arn"] for n, r in roles.items() if n.split(".")[1] == tname)
        for st in iam_checks.statements(doc):
            if st["Effect"] == "Allow":
                assert st["Principal"] == {"AWS": own_roles}
        # Evaluate the Deny statements: anything outside the prefix is denied through this access point.
        denies = [s for s in iam_checks.statements(doc) if s["Effect"] == "Deny"]
        outside = f"{ap_arn}/object/tenants/beta-not-{tname}/x"
        assert any("NotResource" in s and not any(iam_checks.iam_match(p, outside) for p in s["NotResource"])
                   for s in denies)
        inside = f"{ap_arn}/object/tenants/{tname}/x"
        assert all(not ("NotResource" in s and not any(iam_checks.iam_match(p, inside) for p in s["NotResource"]))
                   for s in denies)
    for role_name, role in roles.items():
        tname = role_name.split(".")[1]
        doc = _role_policies(result)[role["id"]]["inputs"]["policy"]
        assert iam_checks.tenant_policy_problems(
            doc, bucket_arn=bucket_arn, kms_key_arn=key_arn, tenant=tname, region=REGION, bucket_key=True,
            others=[n for n in NAMES if n != tname], access_point_arn=aps[tname]["outputs"]["arn"]) == []
        for other in NAMES:
            if other != tname:
                assert not iam_checks.allows(doc, "s3:GetObject",
                                             f"{aps[other]['outputs']['arn']}/object/tenants/{other}/x")


# ----------------------------------------------------------------------------------------------
# Stability and limits


def _identity_inputs(result: RenderResult, tname: str) -> dict[tuple[str, str], Any]:
    return {(r["type"], r["name"]): r["inputs"] for r in result.for_tenant(tname) if r["custom"]}


def test_adding_removing_and_reordering_tenants_changes_no_other_tenants_identity() -> None:
    base = render_identity(spec_with(TENANTS[:3]))
    changed = render_identity(spec_with([TENANTS[2], tenant("zeta", 7, serviceAccounts=["app"]), TENANTS[0],
                                         TENANTS[1]]))
    for tname in ("alpha", "alphabet", "beta"):
        before, after = _identity_inputs(base, tname), _identity_inputs(changed, tname)
        assert before and before == after, tname
    shared = ("aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucket:Bucket", "aws:kms/key:Key")
    for t in shared:
        assert _one(base, t)["inputs"] == _one(changed, t)["inputs"], t


def test_role_names_too_long_for_iam_are_rejected_with_path_and_fix() -> None:
    with pytest.raises(SpecError) as err:
        load_platform(spec_with([tenant("alpha", 0, serviceAccounts=["a" * 60])]))
    assert "tenants[0] (alpha).serviceAccounts[0]" in str(err.value) and "shorten" in str(err.value)


def test_irsa_needs_the_cluster_oidc_outputs() -> None:
    from tenancy.components.identity import TenantIdentity, TenantIdentityArgs

    spec = load_platform(spec_with(TENANTS))
    with pytest.raises(ValueError, match="oidc_provider_arn"):
        TenantIdentity("x", TenantIdentityArgs(platform=spec, tenant=spec.tenants[0], bucket_name="b",
                                               bucket_arn="arn:aws:s3:::b", kms_key_arn="k"))
