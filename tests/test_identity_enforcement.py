"""Enforcement on a real AWS API: the rendered bucket, roles and policies are created in moto,
each tenant role's credentials are obtained (IRSA web identity), IAM enforcement is switched on,
and the whole tenant × prefix matrix is exercised.

moto ignores IAM conditions, so the ``s3:prefix`` (listing), ``sub``/``aud`` (trust) and KMS
conditions are checked in tests/test_identity.py; here Action and Resource decide.
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
    for t in TENANTS:
        for prefix in targets.values():
            for name in ("seed", f"victim-{t}"):
                root_s3.put_object(Bucket=bucket, Key=_key(prefix, name), Body=b"seed")
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
                ops = {
                    "put": lambda s3=s3, k=put_key: s3.put_object(Bucket=bucket, Key=k, Body=b"x"),
                    "get": lambda s3=s3, k=seed_key: s3.get_object(Bucket=bucket, Key=k)["Body"].read(),
                    "delete": lambda s3=s3, k=victim_key: s3.delete_object(Bucket=bucket, Key=k),
                    "multipart": lambda s3=s3, k=multipart_key: _multipart(s3, bucket, k),
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
    assert counts == {"allowed": 4 * len(TENANTS), "denied": 4 * len(TENANTS) * (n_targets - 1)}


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
