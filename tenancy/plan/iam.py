"""IAM and S3 policy documents for tenant workload identity, as plain dicts.

Pure functions of names and ARNs (no Pulumi): the identity components call them inside
``Output.apply`` and ``json.dumps`` the result; tests call them directly.

Every document names its resources exactly. None uses ``Resource: "*"``; the tenant's data
permissions are scoped to ``tenants/<tenant>/`` in the shared bucket (see
:func:`tenancy.spec.naming.tenant_s3_prefix`).

Encryption context and S3 Bucket Keys
-------------------------------------
With SSE-KMS, S3 calls KMS with the encryption context ``aws:s3:arn``. Without an S3 Bucket
Key its value is the *object* ARN, so a key-use condition can pin the tenant's prefix
(``StringLike arn:aws:s3:::<bucket>/tenants/<tenant>/*``). With a Bucket Key (the default here:
it cuts KMS requests, and their cost, by up to 99%) S3 asks KMS for a bucket-level key and the
context is the *bucket* ARN (AWS S3 User Guide, "Configuring your bucket to use an S3 Bucket
Key": "the encryption context will be the bucket ARN and not the object ARN"). The key
condition then pins the bucket only. That is still sound: ``kms:ViaService`` limits the key to
requests S3 makes on the caller's behalf, and S3 makes them only after authorising the object
request against the tenant's prefix. ``identity.bucketKey: false`` adds the per-prefix context
condition as a second wall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tenancy.spec import naming

VERSION = "2012-10-17"

OBJECT_ACTIONS: tuple[str, ...] = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
"""What a tenant workload may do with objects under its prefix. Multipart uploads are
authorised as ``s3:PutObject`` (create, upload part, complete) plus the two listed actions.
``s3:ListBucketMultipartUploads`` is left out: it has no ``s3:prefix`` condition key, so it
would show every tenant's in-flight upload keys."""

LIST_ACTIONS: tuple[str, ...] = ("s3:ListBucket", "s3:ListBucketVersions")
"""Bucket-level listing, always with an ``s3:prefix`` condition on the tenant's prefix."""

KMS_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")
"""What S3 needs from KMS on the caller's behalf: ``GenerateDataKey`` to write (also for each
multipart part), ``Decrypt`` to read and to complete multipart uploads. ``kms:Encrypt`` is not
used by SSE-KMS and is not granted."""

IRSA_AUDIENCE = "sts.amazonaws.com"
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN: ``arn:<partition>:<service>:<region>:<account>:<resource>``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> Arn:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not parts[1].startswith("aws"):
            raise ValueError(f"{arn!r} is not an AWS ARN (arn:<partition>:<service>:<region>:<account>:<resource>)")
        return cls(*parts[1:])


def dns_suffix(partition: str) -> str:
    """The service endpoint DNS suffix of a partition (``amazonaws.com``, ``amazonaws.com.cn``)."""
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


def s3_via_service(kms_key_arn: str) -> str:
    """The ``kms:ViaService`` value of S3 in the key's Region: ``s3.<region>.amazonaws.com``.

    The key and the bucket are in the same Region (SSE-KMS requires it), so the Region is read
    from the key's ARN — no provider invoke needed.
    """
    key = Arn.parse(kms_key_arn)
    if key.service != "kms" or not key.region:
        raise ValueError(f"{kms_key_arn!r} is not a KMS key ARN")
    return f"s3.{key.region}.{dns_suffix(key.partition)}"


def strip_scheme(issuer: str) -> str:
    """An OIDC issuer as IAM condition keys spell it: without ``https://``."""
    return issuer.removeprefix("https://").rstrip("/")


# --------------------------------------------------------------------------------------------
# Trust policies


def irsa_trust_policy(oidc_provider_arn: str, oidc_issuer: str, namespace: str | Sequence[str],
                      service_account: str) -> dict[str, Any]:
    """Trust for IAM roles for service accounts: only the given Kubernetes service account,
    through the cluster's OIDC provider, with the STS audience.

    ``namespace`` may list several namespaces (a tenant with extra ``namespaces``: its service
    account exists in each): the ``sub`` condition then lists ``system:serviceaccount:<ns>:<sa>``
    for each, exact strings under ``StringEquals`` (a list matches any one of them; IAM User Guide,
    "Creating a condition with multiple keys or values"), never a wildcard that another tenant's
    namespace could match.

    ``oidc_issuer`` is the issuer URL without ``https://`` (a leading scheme is tolerated and
    removed). The provider ARN must be the issuer's provider (``…:oidc-provider/<issuer>``):
    a mismatch is a wiring error and raises ``ValueError`` rather than producing a role no
    token can assume.
    """
    issuer = strip_scheme(oidc_issuer)
    provider = Arn.parse(oidc_provider_arn)
    if provider.service != "iam" or provider.resource != f"oidc-provider/{issuer}":
        raise ValueError(
            f"OIDC provider {oidc_provider_arn!r} is not the provider of issuer {issuer!r}: "
            "pass the cluster's oidcProviderArn and oidcIssuer together"
        )
    return {
        "Version": VERSION,
        "Statement": [{
            "Sid": "ServiceAccountWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{issuer}:sub": _one_or_list([f"system:serviceaccount:{ns}:{service_account}"
                                               for ns in _namespaces(namespace)]),
                f"{issuer}:aud": IRSA_AUDIENCE,
            }},
        }],
    }


def _namespaces(namespace: str | Sequence[str]) -> list[str]:
    return [namespace] if isinstance(namespace, str) else list(namespace)


def _one_or_list(values: list[str]) -> str | list[str]:
    """One value as a string (the policy as it always was), several as a list."""
    return values[0] if len(values) == 1 else values


def pod_identity_trust_policy(namespace: str | Sequence[str], service_account: str, cluster: str, *,
                              cluster_is_arn: bool = False) -> dict[str, Any]:
    """Trust for EKS Pod Identity: the EKS Auth service principal may assume the role and tag
    the session, and only for this cluster, namespace and service account.

    EKS Pod Identity puts ``eks-cluster-arn``, ``eks-cluster-name``, ``kubernetes-namespace`` and
    ``kubernetes-service-account`` session tags on the ``AssumeRole`` request; the conditions on
    ``aws:RequestTag/…`` make a wrong association (another namespace, another cluster) fail to
    obtain credentials even though the association resource exists. Pass the cluster ARN
    (``cluster_is_arn=True``) where known: a name is unique only per account and Region.
    Several namespaces (a tenant's extra ``namespaces``): any one of them, each with its own
    association.
    """
    cluster_key = "aws:RequestTag/eks-cluster-arn" if cluster_is_arn else "aws:RequestTag/eks-cluster-name"
    return {
        "Version": VERSION,
        "Statement": [{
            "Sid": "EksPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                cluster_key: cluster,
                "aws:RequestTag/kubernetes-namespace": _one_or_list(_namespaces(namespace)),
                "aws:RequestTag/kubernetes-service-account": service_account,
            }},
        }],
    }


# --------------------------------------------------------------------------------------------
# Permissions


def tenant_data_policy(bucket_arn: str, tenant: str, kms_key_arn: str, *, bucket_key: bool = True,
                       access_point_arn: str | None = None) -> dict[str, Any]:
    """The permission policy of every role of ``tenant``: its prefix of the shared bucket, and
    the bucket's KMS key only through S3.

    - objects: :data:`OBJECT_ACTIONS` on ``<bucket>/tenants/<tenant>/*`` only;
    - listing: :data:`LIST_ACTIONS` on the bucket, only with ``s3:prefix`` equal to
      ``tenants/<tenant>/`` or under it (``StringLike``; a list without a prefix is denied);
    - KMS: :data:`KMS_ACTIONS` on the key ARN, only with ``kms:ViaService`` = S3 in the key's
      Region, and ``kms:EncryptionContext:aws:s3:arn`` = the bucket ARN (``bucket_key``) or
      under the tenant's prefix (no bucket key; see the module docstring);
    - with ``access_point_arn``: the same object and list permissions through the tenant's
      access point (``<ap>/object/tenants/<tenant>/*``).
    """
    prefix = naming.tenant_s3_prefix(tenant)
    bucket = Arn.parse(bucket_arn)
    if bucket.service != "s3" or "/" in bucket.resource or bucket.region or bucket.account:
        raise ValueError(f"{bucket_arn!r} is not an S3 bucket ARN (arn:aws:s3:::<bucket>)")
    via = s3_via_service(kms_key_arn)
    context = (
        {"StringEquals": {"kms:ViaService": via, "kms:EncryptionContext:aws:s3:arn": bucket_arn}}
        if bucket_key else
        {"StringEquals": {"kms:ViaService": via},
         "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{bucket_arn}/{prefix}*"}}
    )
    statements: list[dict[str, Any]] = [
        {
            "Sid": "TenantObjects",
            "Effect": "Allow",
            "Action": list(OBJECT_ACTIONS),
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        {
            "Sid": "TenantList",
            "Effect": "Allow",
            "Action": list(LIST_ACTIONS),
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
        },
        {
            "Sid": "TenantKeyThroughS3",
            "Effect": "Allow",
            "Action": list(KMS_ACTIONS),
            "Resource": kms_key_arn,
            "Condition": context,
        },
    ]
    if access_point_arn is not None:
        statements += [
            {
                "Sid": "TenantObjectsThroughAccessPoint",
                "Effect": "Allow",
                "Action": list(OBJECT_ACTIONS),
                "Resource": f"{access_point_arn}/object/{prefix}*",
            },
            {
                "Sid": "TenantListThroughAccessPoint",
                "Effect": "Allow",
                "Action": list(LIST_ACTIONS),
                "Resource": access_point_arn,
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            },
        ]
    return {"Version": VERSION, "Statement": statements}


# --------------------------------------------------------------------------------------------
# Resource policies


def _deny_insecure_transport(resources: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "DenyOutdatedTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    ]


def data_bucket_policy(bucket_arn: str, kms_key_arn: str) -> dict[str, Any]:
    """The shared bucket's policy. It holds nothing per tenant (bucket policies are capped at
    20 KB; tenants are scoped in their identity policies), only walls for everyone:

    - deny any request without TLS, or with TLS older than 1.2;
    - deny uploads that ask for another encryption than SSE-KMS, or for another KMS key than the
      bucket's (uploads that ask for nothing get the bucket default: SSE-KMS with this key).
      Clients naming the key must name it by ARN.
    """
    objects = f"{bucket_arn}/*"
    return {
        "Version": VERSION,
        "Statement": [
            *_deny_insecure_transport([bucket_arn, objects]),
            {
                "Sid": "DenyOtherEncryption",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            },
            {
                "Sid": "DenyOtherKmsKey",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": objects,
                "Condition": {"ArnNotEqualsIfExists": {
                    "s3:x-amz-server-side-encryption-aws-kms-key-id": kms_key_arn}},
            },
        ],
    }


def access_log_bucket_policy(log_bucket_arn: str, source_bucket_arn: str, source_account: str) -> dict[str, Any]:
    """Policy of the access-log bucket: S3's logging service may write log objects for the
    tenant-data bucket of this account only; no request without TLS."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_bucket_arn}/*",
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": source_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": source_account},
                },
            },
            *_deny_insecure_transport([log_bucket_arn, f"{log_bucket_arn}/*"]),
        ],
    }


def access_point_policy(access_point_arn: str, tenant: str, role_arns: list[str]) -> dict[str, Any]:
    """Policy of a tenant's access point: the tenant's roles may use it for the tenant's prefix;
    nobody may use it for anything else (the Deny binds principals of this account too, whose
    identity policies might otherwise reach other keys through it)."""
    prefix = naming.tenant_s3_prefix(tenant)
    objects = f"{access_point_arn}/object/{prefix}*"
    statements: list[dict[str, Any]] = []
    if role_arns:
        statements += [
            {
                "Sid": "TenantObjects",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(role_arns)},
                "Action": list(OBJECT_ACTIONS),
                "Resource": objects,
            },
            {
                "Sid": "TenantList",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(role_arns)},
                "Action": list(LIST_ACTIONS),
                "Resource": access_point_arn,
                "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
            },
        ]
    statements += [
        {
            "Sid": "DenyOutsideTenantPrefix",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "NotResource": [access_point_arn, objects],
        },
        {
            "Sid": "DenyListOutsideTenantPrefix",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(LIST_ACTIONS),
            "Resource": access_point_arn,
            "Condition": {"StringNotLike": {"s3:prefix": [prefix, f"{prefix}*"]}},
        },
    ]
    return {"Version": VERSION, "Statement": statements}
