"""Independent checks of rendered IAM documents, written from the issue's requirements rather
than from tenancy/plan/iam.py. Each returns a list of problems (empty = fine), so negative
controls can assert that a broken document is caught.

Patterns are matched with IAM's own wildcard rules (``*`` any run, ``?`` one character) by
:func:`iam_match`, so "does this policy reach tenant X's keys?" is answered by evaluation, not by
string equality with what the generator wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

OBJECT_ACTIONS_REQUIRED = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                           "s3:ListMultipartUploadParts"}
KMS_ALLOWED = {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"}


def iam_match(pattern: str, value: str) -> bool:
    """IAM string matching (StringLike / Resource): ``*`` and ``?`` wildcards, case-sensitive."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, flags=re.S) is not None


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def statements(doc: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    if isinstance(doc, str):
        doc = json.loads(doc)
    return [dict(s) for s in _list(doc["Statement"])]


def _walk_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk_strings(v)


def allows(doc: Mapping[str, Any] | str, action: str, resource: str, context: Mapping[str, str] | None = None) -> bool:
    """Whether ``doc`` (an identity policy, Allow statements only) allows ``action`` on
    ``resource`` given request ``context`` (condition key → value). Supports the operators the
    tenant policies may use (StringEquals, StringLike, ArnEquals, ArnLike); any other operator
    makes the statement not apply — a conservative reading for a "can tenant X reach Y" check."""
    context = context or {}
    for s in statements(doc):
        if s.get("Effect") != "Allow":
            continue
        if not any(iam_match(a, action) for a in _list(s.get("Action", []))):
            continue
        if not any(iam_match(r, resource) for r in _list(s.get("Resource", []))):
            continue
        ok = True
        for op, block in (s.get("Condition") or {}).items():
            for key, expected in block.items():
                actual = context.get(key)
                if actual is None:
                    ok = False
                elif op in ("StringEquals", "ArnEquals"):
                    ok = ok and actual in _list(expected)
                elif op in ("StringLike", "ArnLike"):
                    ok = ok and any(iam_match(p, actual) for p in _list(expected))
                else:
                    ok = False
        if ok:
            return True
    return False


def tenant_policy_problems(doc: Mapping[str, Any] | str, *, bucket_arn: str, kms_key_arn: str, tenant: str,
                           others: Iterable[str], region: str, bucket_key: bool,
                           access_point_arn: str | None = None) -> list[str]:
    """What is wrong with a tenant role's permission policy, per the issue."""
    out: list[str] = []
    prefix = f"tenants/{tenant}/"
    own_objects = f"{bucket_arn}/{prefix}*"
    allowed_resources = {own_objects, bucket_arn, kms_key_arn}
    if access_point_arn:
        allowed_resources |= {access_point_arn, f"{access_point_arn}/object/{prefix}*"}
    sts = statements(doc)
    for i, s in enumerate(sts):
        if s.get("Effect") != "Allow":
            out.append(f"statement {i}: not an Allow")
        if "NotAction" in s or "NotResource" in s:
            out.append(f"statement {i}: NotAction/NotResource")
        for r in _list(s.get("Resource", [])):
            if r == "*" or r not in allowed_resources:
                out.append(f"statement {i}: resource {r!r} is not the tenant's prefix, the bucket or the key")
        for a in _list(s.get("Action", [])):
            if "*" in a:
                out.append(f"statement {i}: wildcard action {a!r}")
        res = set(_list(s.get("Resource", [])))
        if res & {bucket_arn, access_point_arn}:
            cond = (s.get("Condition") or {})
            prefixes = ((cond.get("StringLike") or {}).get("s3:prefix")
                        or (cond.get("StringEquals") or {}).get("s3:prefix"))
            if set(cond) - {"StringLike", "StringEquals"} or not prefixes:
                out.append(f"statement {i}: bucket-level statement without an s3:prefix condition")
            else:
                for p in _list(prefixes):
                    if not (p == prefix or p.startswith(prefix)):
                        out.append(f"statement {i}: s3:prefix {p!r} reaches outside {prefix!r}")
            for a in _list(s.get("Action", [])):
                if a not in ("s3:ListBucket", "s3:ListBucketVersions"):
                    out.append(f"statement {i}: {a} on the bucket itself")
        if kms_key_arn in res:
            if not set(_list(s["Action"])) <= KMS_ALLOWED:
                out.append(f"statement {i}: KMS actions {s['Action']} beyond {sorted(KMS_ALLOWED)}")
            cond = s.get("Condition") or {}
            via = (cond.get("StringEquals") or {}).get("kms:ViaService")
            if via != f"s3.{region}.amazonaws.com":
                out.append(f"statement {i}: kms:ViaService is {via!r}, not S3 in {region}")
            ctx_key = "kms:EncryptionContext:aws:s3:arn"
            if bucket_key:
                if (cond.get("StringEquals") or {}).get(ctx_key) != bucket_arn:
                    out.append(f"statement {i}: encryption context not pinned to the bucket ARN")
            elif (cond.get("StringLike") or {}).get(ctx_key) != own_objects:
                out.append(f"statement {i}: encryption context not pinned to the tenant's prefix")
    # Evaluate: own prefix reachable, others not.
    key = f"{bucket_arn}/{prefix}data.bin"
    for action in sorted(OBJECT_ACTIONS_REQUIRED):
        if not allows(doc, action, key):
            out.append(f"{action} on the tenant's own key is not allowed")
    if not allows(doc, "s3:ListBucket", bucket_arn, {"s3:prefix": prefix}):
        out.append("listing the tenant's own prefix is not allowed")
    for other in others:
        for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
            if allows(doc, action, f"{bucket_arn}/tenants/{other}/data.bin"):
                out.append(f"{action} reaches tenant {other!r}")
        if allows(doc, "s3:ListBucket", bucket_arn, {"s3:prefix": f"tenants/{other}/"}):
            out.append(f"listing reaches tenant {other!r}")
    for outside in (f"{bucket_arn}/root.bin", f"{bucket_arn}/tenants/x", f"{bucket_arn}/tenants/{tenant}"):
        if allows(doc, "s3:GetObject", outside) or allows(doc, "s3:PutObject", outside):
            out.append(f"reaches {outside!r} outside the tenant's prefix")
    if allows(doc, "s3:ListBucket", bucket_arn, {}) or allows(doc, "s3:ListBucket", bucket_arn, {"s3:prefix": ""}):
        out.append("lists the whole bucket")
    if any(s == "*" for st in sts for s in _walk_strings(st.get("Resource"))):
        out.append('Resource "*"')
    return out


def irsa_trust_problems(doc: Mapping[str, Any] | str, *, provider_arn: str, issuer: str, namespace: str,
                        service_account: str) -> list[str]:
    """What is wrong with an IRSA trust policy: exactly one web-identity statement for the OIDC
    provider, with exact ``sub`` and ``aud``."""
    out: list[str] = []
    sts = statements(doc)
    if len(sts) != 1:
        return [f"{len(sts)} statements, expected 1"]
    s = sts[0]
    if s.get("Effect") != "Allow":
        out.append("not an Allow")
    if s.get("Principal") != {"Federated": provider_arn}:
        out.append(f"principal {s.get('Principal')!r} is not the cluster's OIDC provider")
    if _list(s.get("Action")) != ["sts:AssumeRoleWithWebIdentity"]:
        out.append(f"actions {s.get('Action')!r}")
    expected = {"StringEquals": {f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                 f"{issuer}:aud": "sts.amazonaws.com"}}
    if s.get("Condition") != expected:
        out.append(f"condition {s.get('Condition')!r} is not exactly {expected!r}")
    return out


def pod_identity_trust_problems(doc: Mapping[str, Any] | str, *, namespace: str, service_account: str,
                                cluster_key: str, cluster: str) -> list[str]:
    out: list[str] = []
    sts = statements(doc)
    if len(sts) != 1:
        return [f"{len(sts)} statements, expected 1"]
    s = sts[0]
    if s.get("Effect") != "Allow" or s.get("Principal") != {"Service": "pods.eks.amazonaws.com"}:
        out.append(f"principal {s.get('Principal')!r} is not the EKS Pod Identity service")
    if sorted(_list(s.get("Action"))) != ["sts:AssumeRole", "sts:TagSession"]:
        out.append(f"actions {s.get('Action')!r}")
    expected = {"StringEquals": {f"aws:RequestTag/{cluster_key}": cluster,
                                 "aws:RequestTag/kubernetes-namespace": namespace,
                                 "aws:RequestTag/kubernetes-service-account": service_account}}
    if s.get("Condition") != expected:
        out.append(f"condition {s.get('Condition')!r} is not exactly {expected!r}")
    return out
