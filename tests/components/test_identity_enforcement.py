"""Enforcement on a real AWS API: the rendered bucket, roles and policies are created in moto,
each tenant role's credentials are obtained (IRSA web identity), IAM enforcement is switched on,
and the whole tenant × prefix matrix is exercised.

moto ignores IAM conditions, so the ``s3:prefix`` (listing), ``sub``/``aud`` (trust) and KMS
conditions are checked in tests/components/test_identity.py; here Action and Resource decide.

Multipart uploads are authorised as the S3 User Guide's "Multipart upload API and permissions"
table says: create, upload part and complete as ``s3:PutObject``, abort as
``s3:AbortMultipartUpload``, list parts as ``s3:ListMultipartUploadParts``. moto 5.2.5 maps them so
(``ACTION_MAP`` in ``moto/s3/responses.py``); moto 5.2.6 authorises S3 requests by operation name
(``BaseResponse._get_action`` no longer honours the ``Action`` that S3's ``ACTION_MAP`` sets), so it
asks for ``s3:CreateMultipartUpload``, an action IAM does not have, and denies every correct policy.
tests/constraints.txt therefore holds moto at 5.2.5 (see tests/lock-holds.txt).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.specs import spec_with, tenant
from tests.helpers.aws_replay_identity import replay, subst
from tests.helpers.identity_render import render_identity
from tests.helpers.moto_server import MotoServer

pytestmark = pytest.mark.slow

TENANTS = ["alpha", "alphabet", "beta"]
"""``alphabet`` starts with ``alpha``: a prefix missing its trailing ``/`` would let alpha in."""
OUTSIDE = ["root.bin", "tenants/orphan.bin"]
"""Keys in no tenant's prefix: the bucket root, and directly under ``tenants/``."""


def _rendered() -> list[dict[str, Any]]:
    result = render_identity(spec_with([tenant(n, i, serviceAccounts=["app"]) for i, n in enumerate(TENANTS)]))
    return result.resources


def _attempt(call: Any) -> bool:
    try:
        call()
        return True
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        assert code in ("AccessDenied", "403"), exc.response
        return False


def run_matrix(moto: MotoServer, resources: list[dict[str, Any]]) -> tuple[list[str], dict[str, int]]:
    """Replay ``resources``; return (violations, counts). A violation is any operation whose
    outcome differs from "allowed exactly on the role's own tenant prefix"."""
    id_map = replay(moto, resources)
    bucket = next(r for r in resources if r["type"] == "aws:s3/bucket:Bucket")["outputs"]["bucket"]
    roles = {r["tenant"]: subst(r["outputs"]["arn"], id_map) for r in resources if r["type"] == "aws:iam/role:Role"}
    assert sorted(roles) == sorted(TENANTS)
    root_s3 = moto.client("s3")
    targets = {u: f"tenants/{u}/" for u in TENANTS} | {key: key for key in OUTSIDE}
    pending: dict[tuple[str, str], str] = {}  # (tenant, target) -> an upload the root started there
    for t in TENANTS:
        for target, prefix in targets.items():
            for name in ("seed", f"victim-{t}"):
                root_s3.put_object(Bucket=bucket, Key=_key(prefix, name), Body=b"seed")
            key = _key(prefix, f"pending-{t}")
            upload = root_s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
            root_s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"p" * 16)
            pending[(t, target)] = upload
    clients = {}
    sts = moto.client("sts")
    for t, arn in roles.items():
        c = sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName=f"{t}-probe",
                                              WebIdentityToken="moto-does-not-check-tokens")["Credentials"]
        clients[t] = moto.client("s3", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"])

    violations: list[str] = []
    counts = {"allowed": 0, "denied": 0}
    moto.set_enforcement(True)
    try:
        for t, s3 in clients.items():
            for target, prefix in targets.items():
                expected = target == t
                put_key, seed_key = _key(prefix, f"from-{t}"), _key(prefix, "seed")
                victim_key, multipart_key = _key(prefix, f"victim-{t}"), _key(prefix, f"multipart-{t}")
                pending_key, upload = _key(prefix, f"pending-{t}"), pending[(t, target)]
                ops = {
                    "put": lambda s3=s3, k=put_key: s3.put_object(Bucket=bucket, Key=k, Body=b"x"),
                    "get": lambda s3=s3, k=seed_key: s3.get_object(Bucket=bucket, Key=k)["Body"].read(),
                    "delete": lambda s3=s3, k=victim_key: s3.delete_object(Bucket=bucket, Key=k),
                    "multipart": lambda s3=s3, k=multipart_key: _multipart(s3, bucket, k),
                    "list-parts": lambda s3=s3, k=pending_key, u=upload: s3.list_parts(Bucket=bucket, Key=k,
                                                                                        UploadId=u),
                    "abort": lambda s3=s3, k=pending_key, u=upload: s3.abort_multipart_upload(Bucket=bucket, Key=k,
                                                                                               UploadId=u),
                }
                for op, call in ops.items():
                    allowed = _attempt(call)
                    counts["allowed" if allowed else "denied"] += 1
                    if allowed != expected:
                        violations.append(f"{t} {op} {target}: {'allowed' if allowed else 'denied'}, "
                                          f"expected {'allowed' if expected else 'denied'}")
    finally:
        moto.set_enforcement(False)
    # What was allowed really happened (and nothing else did).
    for t in TENANTS:
        keys = {o["Key"] for o in root_s3.list_objects_v2(Bucket=bucket, Prefix=f"tenants/{t}/").get("Contents", [])}
        if f"tenants/{t}/from-{t}" not in keys or f"tenants/{t}/multipart-{t}" not in keys:
            violations.append(f"{t}'s own writes are missing")
        if f"tenants/{t}/victim-{t}" in keys:
            violations.append(f"{t}'s own delete did not happen")
    # Exactly the tenants' own pending uploads were aborted; every other one is still there.
    left = {(u["Key"], u["UploadId"]) for u in root_s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}
    for (t, target), upload in pending.items():
        if ((_key(targets[target], f"pending-{t}"), upload) in left) == (target == t):
            violations.append(f"{t}'s abort in {target}: the upload {'survived' if target == t else 'is gone'}")
    return violations, counts


def _key(prefix: str, name: str) -> str:
    return f"{prefix}{name}" if prefix.endswith("/") else f"{prefix}.{name}"


def _multipart(s3: Any, bucket: str, key: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"p" * 16)
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})


def test_each_tenant_reaches_exactly_its_own_prefix(moto_server: MotoServer) -> None:
    violations, counts = run_matrix(moto_server, _rendered())
    assert violations == []
    n_targets = len(TENANTS) + len(OUTSIDE)
    assert counts == {"allowed": 6 * len(TENANTS), "denied": 6 * len(TENANTS) * (n_targets - 1)}


def test_negative_control_a_policy_without_the_multipart_actions_is_detected(moto_server: MotoServer) -> None:
    """A policy that is too narrow for multipart uploads (no abort, no list parts) breaks the
    tenant's own uploads: the matrix reports it, under the pinned moto as on AWS."""
    resources = copy.deepcopy(_rendered())
    narrowed = {"s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}
    for r in resources:
        if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["tenant"] == "alpha":
            doc = json.loads(r["inputs"]["policy"])
            for st in doc["Statement"]:
                if isinstance(st["Action"], list) and narrowed <= set(st["Action"]):
                    st["Action"] = [a for a in st["Action"] if a not in narrowed]
            r["inputs"]["policy"] = json.dumps(doc)
    violations, _ = run_matrix(moto_server, resources)
    assert "alpha abort alpha: denied, expected allowed" in violations, violations
    assert "alpha list-parts alpha: denied, expected allowed" in violations, violations
    assert not any(v.startswith(("beta ", "alphabet ")) for v in violations), violations


def test_negative_control_an_over_broad_policy_is_detected(moto_server: MotoServer) -> None:
    resources = copy.deepcopy(_rendered())
    for r in resources:
        if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["tenant"] == "alpha":
            doc = json.loads(r["inputs"]["policy"])
            for st in doc["Statement"]:
                if isinstance(st["Resource"], str) and st["Resource"].endswith("/tenants/alpha/*"):
                    st["Resource"] = st["Resource"].replace("/tenants/alpha/*", "/tenants/*")
            r["inputs"]["policy"] = json.dumps(doc)
    violations, _ = run_matrix(moto_server, resources)
    assert any(v.startswith("alpha put beta") for v in violations), violations
    assert any(v.startswith("alpha get alphabet") for v in violations), violations
    assert not any(v.startswith(("beta ", "alphabet ")) for v in violations), violations
