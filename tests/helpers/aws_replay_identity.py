"""Replay the identity layer's rendered resources into a moto server.

Handlers follow the shared replay convention: ``handler(moto_server, resource, id_map) -> id``.
``resource`` is one entry of ``RenderResult.resources`` (``type``, ``name``, ``id``, ``inputs``,
``outputs``; inputs camelCase). ``id_map`` maps every rendered value that differs in moto
(resource ids, ARNs — the render's fake account and derived key ids) to the value moto gave;
handlers read inputs through :func:`subst` and record the new ARNs they create. The caller
records ``id_map[resource["id"]] = <returned id>``.

Names are kept: the bucket, the roles and their policies get their rendered names, so policy
documents that name them stay valid once the account id and key ids are substituted.

:data:`HANDLERS` is this layer's entry for the per-type handler table of
``tests/helpers/aws_replay.py``; :func:`replay` is a small driver (dependency order) for
this layer's own tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tenancy.render.mocks import ACCOUNT_ID
from tests.helpers.moto_server import MotoServer

IdMap = dict[str, str]
Handler = Callable[[MotoServer, Mapping[str, Any], IdMap], str]


def subst(value: Any, id_map: Mapping[str, str]) -> Any:
    """``value`` with every rendered id/ARN in ``id_map`` replaced by moto's (longest first, so
    an ARN is replaced before an id it contains); recurses into lists and dicts."""
    if isinstance(value, str):
        for old in sorted(id_map, key=len, reverse=True):
            if old and old in value:
                value = value.replace(old, id_map[old])
        return value
    if isinstance(value, list):
        return [subst(v, id_map) for v in value]
    if isinstance(value, dict):
        return {k: subst(v, id_map) for k, v in value.items()}
    return value


def _tags(inputs: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((inputs.get("tags") or {}).items())]


def kms_key(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    kms = moto.client("kms")
    tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(r["inputs"])]
    meta = kms.create_key(Description=r["inputs"].get("description", ""), Tags=tags)["KeyMetadata"]
    if r["inputs"].get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=meta["KeyId"])
    id_map[r["outputs"]["arn"]] = meta["Arn"]
    id_map[r["outputs"]["keyId"]] = meta["KeyId"]
    return meta["KeyId"]


def kms_alias(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    moto.client("kms").create_alias(AliasName=r["inputs"]["name"],
                                    TargetKeyId=subst(r["inputs"]["targetKeyId"], id_map))
    return r["inputs"]["name"]


def s3_bucket(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    s3 = moto.client("s3")
    name = r["outputs"]["bucket"]
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name})
    if r["inputs"].get("tags"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(r["inputs"])})
    id_map[r["id"]] = name
    return name


def _bucket(r: Mapping[str, Any], id_map: IdMap) -> str:
    return subst(r["inputs"]["bucket"], id_map)


def s3_public_access_block(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    i = r["inputs"]
    moto.client("s3").put_public_access_block(Bucket=_bucket(r, id_map), PublicAccessBlockConfiguration={
        "BlockPublicAcls": bool(i.get("blockPublicAcls")), "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
        "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
        "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets"))})
    return _bucket(r, id_map)


def s3_ownership_controls(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    moto.client("s3").put_bucket_ownership_controls(Bucket=_bucket(r, id_map), OwnershipControls={
        "Rules": [{"ObjectOwnership": r["inputs"]["rule"]["objectOwnership"]}]})
    return _bucket(r, id_map)


def s3_encryption(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    rules = []
    for rule in subst(r["inputs"]["rules"], id_map):
        default = rule["applyServerSideEncryptionByDefault"]
        out: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default["sseAlgorithm"]}}
        if default.get("kmsMasterKeyId"):
            out["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["kmsMasterKeyId"]
        if "bucketKeyEnabled" in rule:
            out["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
        rules.append(out)
    moto.client("s3").put_bucket_encryption(Bucket=_bucket(r, id_map),
                                            ServerSideEncryptionConfiguration={"Rules": rules})
    return _bucket(r, id_map)


def s3_versioning(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    moto.client("s3").put_bucket_versioning(Bucket=_bucket(r, id_map), VersioningConfiguration={
        "Status": r["inputs"]["versioningConfiguration"]["status"]})
    return _bucket(r, id_map)


def s3_lifecycle(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    rules = []
    for rule in r["inputs"]["rules"]:
        out: dict[str, Any] = {"ID": rule["id"], "Status": rule["status"], "Filter": {"Prefix": ""}}
        if "abortIncompleteMultipartUpload" in rule:
            out["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])}
        if "noncurrentVersionExpiration" in rule:
            out["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": int(rule["noncurrentVersionExpiration"]["noncurrentDays"])}
        rules.append(out)
    moto.client("s3").put_bucket_lifecycle_configuration(Bucket=_bucket(r, id_map),
                                                         LifecycleConfiguration={"Rules": rules})
    return _bucket(r, id_map)


def moto_safe_bucket_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """``policy`` without its conditional Deny statements.

    moto evaluates a bucket policy's ``Principal: "*"`` statements on object requests but
    ignores their conditions (``put_bucket_policy``'s docstring: "Conditions are not taken into
    account"), so ``Deny … if aws:SecureTransport is false`` would deny every request. Those
    walls (TLS, encryption headers) are checked in the render tests instead; unconditional
    statements are kept.
    """
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    return {**policy, "Statement": [s for s in statements if not (s["Effect"] == "Deny" and s.get("Condition"))]}


def s3_bucket_policy(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    policy = moto_safe_bucket_policy(json.loads(subst(r["inputs"]["policy"], id_map)))
    if policy["Statement"]:
        moto.client("s3").put_bucket_policy(Bucket=_bucket(r, id_map), Policy=json.dumps(policy))
    return _bucket(r, id_map)


def s3_logging(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    moto.client("s3").put_bucket_logging(Bucket=_bucket(r, id_map), BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": subst(r["inputs"]["targetBucket"], id_map), "TargetPrefix": r["inputs"]["targetPrefix"]}})
    return _bucket(r, id_map)


def iam_role(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    i = r["inputs"]
    role = moto.client("iam").create_role(
        RoleName=i["name"], AssumeRolePolicyDocument=subst(i["assumeRolePolicy"], id_map),
        Description=i.get("description", ""), Tags=_tags(i))["Role"]
    id_map[r["outputs"]["arn"]] = role["Arn"]
    return role["RoleName"]


def iam_role_policy(moto: MotoServer, r: Mapping[str, Any], id_map: IdMap) -> str:
    i = r["inputs"]
    role = subst(i["role"], id_map)
    moto.client("iam").put_role_policy(RoleName=role, PolicyName=i["name"],
                                       PolicyDocument=subst(i["policy"], id_map))
    return f"{role}:{i['name']}"


HANDLERS: dict[str, Handler] = {
    "aws:kms/key:Key": kms_key,
    "aws:kms/alias:Alias": kms_alias,
    "aws:s3/bucket:Bucket": s3_bucket,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": s3_public_access_block,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": s3_ownership_controls,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": s3_encryption,
    "aws:s3/bucketVersioning:BucketVersioning": s3_versioning,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": s3_lifecycle,
    "aws:s3/bucketPolicy:BucketPolicy": s3_bucket_policy,
    "aws:s3/bucketLogging:BucketLogging": s3_logging,
    "aws:iam/role:Role": iam_role,
    "aws:iam/rolePolicy:RolePolicy": iam_role_policy,
}
"""This layer's handlers, by Pulumi type token. Not replayed (moto has no API or it adds nothing
to the enforcement check): S3 access points and their policies, EKS Pod Identity associations."""


def replay(moto: MotoServer, resources: Iterable[Mapping[str, Any]],
           handlers: Mapping[str, Handler] = HANDLERS) -> IdMap:
    """Create every resource that has a handler, dependencies first. Returns the id map."""
    todo = {r["urn"]: r for r in resources if r["type"] in handlers}
    # The render's fake account appears in every ARN it computed (roles, OIDC provider): moto's
    # account replaces it wherever a more specific mapping (a whole ARN) did not.
    account = moto.client("sts").get_caller_identity()["Account"]
    id_map: IdMap = {f":{ACCOUNT_ID}:": f":{account}:"}
    done: set[str] = set()

    def visit(urn: str, stack: tuple[str, ...] = ()) -> None:
        if urn in done or urn not in todo:
            return
        if urn in stack:
            raise ValueError(f"dependency cycle through {urn}")
        r = todo[urn]
        for dep in r.get("dependencies") or []:
            visit(dep, (*stack, urn))
        new_id = handlers[r["type"]](moto, r, id_map)
        if r.get("id") and r["id"] != new_id:
            id_map[r["id"]] = new_id
        done.add(urn)

    for urn in sorted(todo):
        visit(urn)
    return id_map


def policy_document(resource: Mapping[str, Any], key: str = "policy") -> dict[str, Any]:
    """A resource's JSON policy input, parsed."""
    return json.loads(resource["inputs"][key])
