"""Identity layer: the shared tenant-data bucket and each tenant's workload roles.

- :class:`DataBucket` (``tenancy:identity:DataBucket``), one per platform: a KMS key, an S3
  bucket shared by all tenants (``tenants/<tenant>/`` each), locked down, optionally with
  access logs.
- :class:`TenantIdentity` (``tenancy:identity:TenantIdentity``), one per tenant: an IAM role per
  service account, trusted by the cluster's OIDC provider (IRSA) or by EKS Pod Identity, allowed
  only the tenant's prefix; optionally the tenant's S3 Access Point.

Policy documents come from :mod:`tenancy.plan.iam`; names from :mod:`tenancy.spec.naming`. See
docs/identity.md for the reasoning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from tenancy.components import invokes
from tenancy.plan import iam
from tenancy.spec import PlatformSpec, TenantSpec, naming
from tenancy.spec.wire import AWS_KMS_KEY, AWS_S3_ACCESS_POINT, AWS_S3_BUCKET, SERVICE_ACCOUNT_TAG

LOG_PREFIX = "s3-access/"
"""Key prefix of the data bucket's server access logs in the log bucket."""
INCOMPLETE_MULTIPART_DAYS = 7
"""Incomplete multipart uploads are aborted after this many days (they hold storage nobody sees)."""


@dataclass(frozen=True)
class DataBucketArgs:
    """Arguments of :class:`DataBucket`."""

    platform: PlatformSpec
    """The platform spec. Read: ``name``, ``identity`` (``bucketKey``,
    ``noncurrentVersionExpirationDays``, ``accessLogging``) and
    ``cluster.deletionProtection`` (adds ``protect`` to the bucket and key)."""


class DataBucket(pulumi.ComponentResource):
    """The platform's shared tenant-data bucket and the KMS key encrypting it.

    Children: ``<name>-key`` (KMS key, rotation on) and ``<name>-key-alias``; ``<name>-bucket``
    (name prefix ``<platform>-tenant-data-``, a unique suffix is appended: bucket names are
    global); its public access block (all four settings), ownership controls
    (BucketOwnerEnforced: no ACLs), SSE-KMS default encryption with this key, versioning, a
    lifecycle configuration (aborts incomplete multipart uploads; expires noncurrent versions
    when ``identity.noncurrentVersionExpirationDays`` is set) and a bucket policy denying
    requests without TLS 1.2+ and uploads with another encryption or key. With
    ``identity.accessLogging``: a separate log bucket ``<name>-logs`` and the logging setting.

    Data is never deleted by Pulumi: the buckets and the key are ``retain_on_delete`` always
    (removing them from the program, or ``pulumi destroy``, leaves them in AWS), and
    ``protect`` as well when ``cluster.deletionProtection`` is set (then the engine refuses to
    even try).

    Attributes: ``bucket_name``, ``bucket_arn``, ``kms_key_arn``, ``kms_key_alias``,
    ``log_bucket_name`` (``None`` without access logging).
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    kms_key_alias: str
    log_bucket_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: DataBucketArgs | PlatformSpec,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:identity:DataBucket", name, None, opts)
        self._stem = name
        self._spec = spec = args.platform if isinstance(args, DataBucketArgs) else args
        self._tags = naming.tags(spec.name)
        self._child = pulumi.ResourceOptions(parent=self)
        self._keep = pulumi.ResourceOptions(parent=self, retain_on_delete=True,
                                            protect=spec.cluster.deletion_protection)

        key = self._key()
        bucket, pab = self._bucket()
        self.bucket_arn = invokes.present(bucket.arn, AWS_S3_BUCKET, "arn")
        self.kms_key_arn = invokes.present(key.arn, AWS_KMS_KEY, "arn")
        self._bucket_settings(bucket, key, pab)
        self._access_logs(bucket)
        self.bucket_name = bucket.bucket
        self._outputs()

    def _key(self) -> aws.kms.Key:
        """The KMS key (rotation on) and its alias."""
        name, spec = self._stem, self._spec
        key = aws.kms.Key(
            f"{name}-key",
            description=f"tenancy {spec.name}: tenant-data bucket (SSE-KMS)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=self._tags,
            opts=self._keep,
        )
        self.kms_key_alias = naming.data_key_alias(spec.name)
        aws.kms.Alias(f"{name}-key-alias", name=self.kms_key_alias, target_key_id=key.key_id, opts=self._child)
        return key

    def _bucket(self) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
        """The bucket, its ownership controls and public access block."""
        bucket = aws.s3.Bucket(
            f"{self._stem}-bucket",
            bucket_prefix=naming.data_bucket_prefix(self._spec.name),
            force_destroy=False,
            tags=self._tags,
            opts=self._keep,
        )
        return bucket, self._lock_down(f"{self._stem}-bucket", bucket, self._child)

    def _bucket_settings(self, bucket: aws.s3.Bucket, key: aws.kms.Key,
                         pab: aws.s3.BucketPublicAccessBlock) -> None:
        """SSE-KMS with the key, versioning, the lifecycle rules and the bucket policy."""
        name, ident, child = self._stem, self._spec.identity, self._child
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=bucket.id,
            rules=[{
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                            "kms_master_key_id": key.arn},
                "bucket_key_enabled": ident.bucket_key,
            }],
            opts=child,
        )
        aws.s3.BucketVersioning(f"{name}-bucket-versioning", bucket=bucket.id,
                                versioning_configuration={"status": "Enabled"}, opts=child)
        rules: list[Any] = [{
            "id": "abort-incomplete-multipart-uploads",
            "status": "Enabled",
            "filter": {"prefix": ""},  # every object; `{}` is deprecated in the AWS provider
            "abort_incomplete_multipart_upload": {"days_after_initiation": INCOMPLETE_MULTIPART_DAYS},
        }]
        if ident.noncurrent_version_expiration_days is not None:
            rules.append({
                "id": "expire-noncurrent-versions",
                "status": "Enabled",
                "filter": {"prefix": ""},  # every object; `{}` is deprecated in the AWS provider
                "noncurrent_version_expiration": {"noncurrent_days": ident.noncurrent_version_expiration_days},
            })
        aws.s3.BucketLifecycleConfiguration(f"{name}-bucket-lifecycle", bucket=bucket.id, rules=rules,
                                            opts=pulumi.ResourceOptions(parent=self, depends_on=[pab]))
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(self.bucket_arn, self.kms_key_arn).apply(
                lambda a: json.dumps(iam.data_bucket_policy(a[0], a[1]), sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pab]),
        )

    def _access_logs(self, bucket: aws.s3.Bucket) -> None:
        """With ``identity.accessLogging``: the log bucket, its settings and the bucket's logging."""
        self.log_bucket_name = None
        if not self._spec.identity.access_logging:
            return
        name, child = self._stem, self._child
        logs = aws.s3.Bucket(
            f"{name}-logs",
            bucket_prefix=naming.access_log_bucket_prefix(self._spec.name),
            force_destroy=False,
            tags=self._tags,
            opts=self._keep,
        )
        log_pab = self._lock_down(f"{name}-logs", logs, child)
        # Server access logs cannot be delivered to an SSE-KMS default-encrypted bucket.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-logs-encryption",
            bucket=logs.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        log_policy = aws.s3.BucketPolicy(
            f"{name}-logs-policy",
            bucket=logs.id,
            policy=pulumi.Output.all(invokes.present(logs.arn, AWS_S3_BUCKET, "arn"), self.bucket_arn,
                                     self.kms_key_arn).apply(
                lambda a: json.dumps(iam.access_log_bucket_policy(a[0], a[1], iam.Arn.parse(a[2]).account),
                                     sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_pab]),
        )
        aws.s3.BucketLogging(
            f"{name}-bucket-logging",
            bucket=bucket.id,
            target_bucket=logs.id,
            target_prefix=LOG_PREFIX,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy]),
        )
        self.log_bucket_name = logs.bucket

    def _outputs(self) -> None:
        self.register_outputs({
            "bucketName": self.bucket_name,
            "bucketArn": self.bucket_arn,
            "kmsKeyArn": self.kms_key_arn,
            "logBucketName": self.log_bucket_name,
        })

    @staticmethod
    def _lock_down(name: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions) -> aws.s3.BucketPublicAccessBlock:
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
        return aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )


@dataclass(frozen=True)
class ClusterIdentity:
    """What the identity layer needs from the cluster layer (all Inputs; ``None`` when unknown)."""

    oidc_provider_arn: pulumi.Input[str] | None = None
    """The cluster's IAM OIDC provider ARN (IRSA)."""
    oidc_issuer: pulumi.Input[str] | None = None
    """The cluster's OIDC issuer URL without ``https://`` (IRSA)."""
    cluster_name: pulumi.Input[str] | None = None
    """The EKS cluster name (Pod Identity associations)."""
    cluster_arn: pulumi.Input[str] | None = None
    """The EKS cluster ARN (pins Pod Identity trust to this cluster)."""


@dataclass(frozen=True)
class TenantIdentityArgs:
    """Arguments of :class:`TenantIdentity`."""

    platform: PlatformSpec
    """The platform spec (``name``, ``identity.mode``, ``identity.bucketKey``,
    ``identity.accessPoints``)."""
    tenant: TenantSpec
    """The tenant; one role per entry of its ``serviceAccounts``."""
    bucket_name: pulumi.Input[str]
    """The shared bucket's name (:attr:`DataBucket.bucket_name`)."""
    bucket_arn: pulumi.Input[str]
    """The shared bucket's ARN (:attr:`DataBucket.bucket_arn`)."""
    kms_key_arn: pulumi.Input[str]
    """The bucket's KMS key ARN (:attr:`DataBucket.kms_key_arn`); its Region names the
    ``kms:ViaService`` endpoint."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    """IRSA mode (required there): the cluster's IAM OIDC provider ARN."""
    oidc_issuer: pulumi.Input[str] | None = None
    """IRSA mode (required there): the cluster's OIDC issuer, without ``https://``."""
    cluster_name: pulumi.Input[str] | None = None
    """Pod Identity mode (required there): the EKS cluster the associations belong to."""
    cluster_arn: pulumi.Input[str] | None = None
    """Pod Identity mode, optional: the cluster's ARN. When given, the trust policy pins the
    ``eks-cluster-arn`` session tag instead of the (per-Region) ``eks-cluster-name``."""

    @classmethod
    def of(cls, platform: PlatformSpec, tenant: TenantSpec, bucket: DataBucket,
           cluster: ClusterIdentity) -> TenantIdentityArgs:
        """The arguments from the platform's :class:`DataBucket` and the cluster's outputs."""
        return cls(platform=platform, tenant=tenant, bucket_name=bucket.bucket_name, bucket_arn=bucket.bucket_arn,
                   kms_key_arn=bucket.kms_key_arn, oidc_provider_arn=cluster.oidc_provider_arn,
                   oidc_issuer=cluster.oidc_issuer, cluster_name=cluster.cluster_name,
                   cluster_arn=cluster.cluster_arn)


class TenantIdentity(pulumi.ComponentResource):
    """A tenant's workload identities: per service account an IAM role allowed only the
    tenant's prefix of the shared bucket (and the bucket key through S3).

    Children, per service account ``sa`` (role name ``<platform>.<tenant>.<sa>``): the
    ``aws.iam.Role`` of that name (trust: IRSA web identity for exactly
    ``system:serviceaccount:<tenant>:<sa>`` with audience ``sts.amazonaws.com``, or the EKS Pod
    Identity service principal with the tenant's namespace/service account/cluster session
    tags), its inline policy ``<role>-tenant-data``, and in ``podIdentity`` mode the
    ``aws.eks.PodIdentityAssociation`` ``<role>``. A tenant with extra ``namespaces`` has the
    service account in each: the trust lists each namespace's service account (the tenant's
    identity is the tenant's, whichever of its namespaces a workload runs in; exact names, so no
    other tenant's namespace matches), and Pod Identity gets one more association
    ``<role>@<namespace>`` per extra namespace. With ``identity.accessPoints``: the access
    point ``<tenant>-access-point`` and its policy.

    Attribute ``role_arns``: service account name → role ARN (what the bundle layer writes into
    the ServiceAccount's ``eks.amazonaws.com/role-arn`` annotation in IRSA mode).
    """

    role_arns: dict[str, pulumi.Output[str]]
    access_point_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: TenantIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        spec, tenant = args.platform, args.tenant
        mode = spec.identity.mode
        if mode == "irsa" and (args.oidc_provider_arn is None or args.oidc_issuer is None):
            raise ValueError(f"tenant {tenant.name!r}: identity.mode 'irsa' needs the cluster's oidc_provider_arn "
                             "and oidc_issuer")
        if mode == "podIdentity" and args.cluster_name is None:
            raise ValueError(f"tenant {tenant.name!r}: identity.mode 'podIdentity' needs cluster_name")
        super().__init__("tenancy:identity:TenantIdentity", name, None, opts)
        self._args = args

        access_point = self._access_point()
        self._roles(self._permissions(access_point))
        self._access_point_policy(access_point)
        self.register_outputs({"roleArns": dict(self.role_arns), "accessPointArn": self.access_point_arn})

    def _access_point(self) -> aws.s3.AccessPoint | None:
        """With ``identity.accessPoints``: the tenant's access point (its policy comes last)."""
        spec, tenant = self._args.platform, self._args.tenant
        self.access_point_arn = None
        if not spec.identity.access_points:
            return None
        access_point = aws.s3.AccessPoint(
            f"{tenant.name}-access-point",
            bucket=self._args.bucket_name,
            name=naming.access_point_name(spec.name, tenant.name),
            public_access_block_configuration={
                "block_public_acls": True, "block_public_policy": True,
                "ignore_public_acls": True, "restrict_public_buckets": True,
            },
            tags=naming.tags(spec.name, tenant.name),
            # the policy is the AccessPointPolicy's below: the access point must not fight
            # it over the (computed) inline `policy` on refresh/update
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["policy"]),
        )
        self.access_point_arn = access_point.arn
        return access_point

    def _permissions(self, access_point: aws.s3.AccessPoint | None) -> pulumi.Output[str]:
        """The roles' inline policy JSON: the tenant's prefix of the bucket, the key through S3."""
        args, tenant = self._args, self._args.tenant
        bucket_key = args.platform.identity.bucket_key
        return pulumi.Output.all(
            args.bucket_arn, args.kms_key_arn, access_point.arn if access_point is not None else None,
        ).apply(lambda a: json.dumps(
            iam.tenant_data_policy(a[0], tenant.name, a[1], bucket_key=bucket_key, access_point_arn=a[2]),
            sort_keys=True))

    def _roles(self, permissions: pulumi.Output[str]) -> None:
        """Per service account: the role, its inline policy and (Pod Identity) its association."""
        args = self._args
        spec, tenant, mode = args.platform, args.tenant, args.platform.identity.mode
        namespaces = naming.tenant_namespaces(tenant)  # the service account exists in each
        child = pulumi.ResourceOptions(parent=self)
        self.role_arns = {}
        for sa in tenant.service_accounts:
            role_name = naming.service_account_role_name(spec.name, tenant.name, sa)
            trust = self._trust(args, namespaces, sa)
            role = aws.iam.Role(
                role_name,
                name=role_name,
                description=f"tenancy {spec.name}: tenant {tenant.name}, service account {sa} ({mode})",
                assume_role_policy=trust,
                tags=naming.tags(spec.name, tenant.name, **{SERVICE_ACCOUNT_TAG: sa}),
                opts=child,
            )
            aws.iam.RolePolicy(f"{role_name}-tenant-data", role=role.id, name="tenant-data", policy=permissions,
                               opts=pulumi.ResourceOptions(parent=role))
            for ns in namespaces if mode == "podIdentity" else ():
                aws.eks.PodIdentityAssociation(
                    role_name if ns == namespaces[0] else f"{role_name}@{ns}",
                    cluster_name=args.cluster_name,
                    namespace=ns,
                    service_account=sa,
                    role_arn=role.arn,
                    tags=naming.tags(spec.name, tenant.name, **{SERVICE_ACCOUNT_TAG: sa}),
                    opts=pulumi.ResourceOptions(parent=role),
                )
            self.role_arns[sa] = role.arn

    def _access_point_policy(self, access_point: aws.s3.AccessPoint | None) -> None:
        """The access point's policy: the tenant's roles only."""
        if access_point is None:
            return
        tenant = self._args.tenant.name
        aws.s3control.AccessPointPolicy(
            f"{tenant}-access-point-policy",
            access_point_arn=access_point.arn,
            policy=pulumi.Output.all(invokes.present(access_point.arn, AWS_S3_ACCESS_POINT, "arn"),
                                     *self.role_arns.values()).apply(
                lambda a: json.dumps(iam.access_point_policy(a[0], tenant, list(a[1:])), sort_keys=True)),
            opts=pulumi.ResourceOptions(parent=access_point),
        )

    @staticmethod
    def _trust(args: TenantIdentityArgs, namespace: list[str], sa: str) -> pulumi.Output[str]:
        """The role's trust policy JSON for the platform's identity mode."""
        if args.platform.identity.mode == "irsa":
            def irsa(a: list[str]) -> str:
                return json.dumps(iam.irsa_trust_policy(a[0], a[1], namespace, sa), sort_keys=True)

            return pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(irsa)
        by_arn = args.cluster_arn is not None

        def pod_identity(cluster: str) -> str:
            return json.dumps(iam.pod_identity_trust_policy(namespace, sa, cluster, cluster_is_arn=by_arn),
                              sort_keys=True)

        source = args.cluster_arn if by_arn else args.cluster_name
        assert source is not None  # checked in __init__
        return pulumi.Output.from_input(source).apply(pod_identity)
