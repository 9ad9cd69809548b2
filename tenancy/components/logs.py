"""Per-tenant workload logs (``observability.logs``): :class:`LogRouter`
(``tenancy:observability:LogRouter``), one per platform, built by :class:`tenancy.Platform` when
``observability.logs.enabled``.

AWS: the logs KMS key, one log group per tenant (KMS, retention), one reader role per tenant with
principals, the router's role (IRSA or Pod Identity). Kubernetes: the router's namespace,
ServiceAccount, ConfigMap (the collector's configuration), NetworkPolicy and DaemonSet. Every
decision and its source: :mod:`tenancy.plan.logs`; docs/observability.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

import pulumi

from tenancy.components import invokes
from tenancy.components.addon import AddonArgs, service_account_trust
from tenancy.plan import logs as plan
from tenancy.spec import PlatformSpec, naming
from tenancy.spec.wire import LOG_ROUTER_TYPE

__all__ = ["LogRouter", "LogRouterArgs", "config_text"]


def config_text(spec: PlatformSpec, region: str) -> str:
    """The collector configuration as the ConfigMap holds it (JSON, which YAML readers accept)."""
    return json.dumps(plan.collector_config(spec, region), indent=2, sort_keys=True)


@dataclass(frozen=True)
class LogRouterArgs(AddonArgs):
    """Inputs of :class:`LogRouter` (:class:`~tenancy.components.addon.AddonArgs`).
    ``depends_on``: what the DaemonSet waits for (the node groups, the Pod Identity agent)."""


class LogRouter(pulumi.ComponentResource):
    """Attributes: ``key``, ``groups`` and ``readers`` (tenant → resource; no reader for a tenant
    without principals), ``role``, ``policy``, ``association`` (None with IRSA), ``objects`` (kind →
    resource)."""

    def __init__(self, name: str, args: LogRouterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(LOG_ROUTER_TYPE, name, None, opts)
        self._args = args
        self._tags = naming.tags(args.platform.name)
        self._child = pulumi.ResourceOptions(parent=self)
        self._partition = invokes.partition(self)
        self._account = invokes.account_id(self)
        self._region = invokes.region(self)
        self._key_and_groups()
        self._readers()
        self._router_role()
        self._objects()
        self.register_outputs({"routerRoleArn": self.role.arn})

    def _doc(self, fn: Any, *extra: Any) -> pulumi.Output[str]:
        return pulumi.Output.all(self._partition, self._region, self._account).apply(
            lambda a: json.dumps(fn(a[0], a[1], a[2], *extra)))

    def _key_and_groups(self) -> None:
        import pulumi_aws as aws

        spec, child, p = self._args.platform, self._child, self._args.platform.name
        self.key = aws.kms.Key(
            f"{p}-logs-key", description=f"tenancy {p}: tenants' container log groups",
            enable_key_rotation=True, deletion_window_in_days=30, policy=self._doc(plan.key_policy, p),
            tags=self._tags, opts=child)
        aws.kms.Alias(f"{p}-logs-key", name=f"alias/tenancy/{p}/logs", target_key_id=self.key.key_id, opts=child)
        self.groups: dict[str, Any] = {
            t.name: aws.cloudwatch.LogGroup(
                f"{p}-{t.name}-container-logs", name=plan.log_group_name(p, t.name),
                retention_in_days=spec.observability.logs.retention_days, kms_key_id=self.key.arn,
                tags=naming.tags(p, t.name), opts=child)
            for t in spec.tenants}

    def _readers(self) -> None:
        import pulumi_aws as aws

        spec, child, p = self._args.platform, self._child, self._args.platform.name
        self.readers: dict[str, Any] = {}
        for t in spec.tenants:
            principals = plan.tenant_principals(t)
            if not principals:
                continue
            role = aws.iam.Role(
                plan.reader_role_name(p, t.name), name=plan.reader_role_name(p, t.name),
                description=f"reads tenant {t.name}'s container logs ({plan.log_group_name(p, t.name)}) only",
                assume_role_policy=json.dumps(plan.reader_trust_policy(principals)),
                tags=naming.tags(p, t.name), opts=child)
            aws.iam.RolePolicy(f"{plan.reader_role_name(p, t.name)}-read", role=role.name, name="read-own-logs",
                               policy=self._doc(plan.reader_policy, p, t.name), opts=child)
            self.readers[t.name] = role

    def _router_role(self) -> None:
        import pulumi_aws as aws

        args, child, p = self._args, self._child, self._args.platform.name
        ns, sa = args.platform.observability.logs.namespace, plan.ROUTER_NAME
        irsa = args.platform.identity.mode == "irsa"
        trust = service_account_trust(args, ns, sa)
        name = plan.router_role_name(p)
        self.role = aws.iam.Role(
            name, name=name, assume_role_policy=trust, tags=self._tags, opts=child,
            description=f"log router ({ns}/{sa}): writes only the tenants' container log groups of {p}")
        self.policy = aws.iam.RolePolicy(f"{name}-write", role=self.role.name, name="write-tenant-container-logs",
                                         policy=self._doc(plan.router_policy, p), opts=child)
        self.association: Any = None
        if not irsa:
            self.association = aws.eks.PodIdentityAssociation(
                name, cluster_name=args.cluster_name, namespace=ns, service_account=sa, role_arn=self.role.arn,
                tags=self._tags, opts=child)

    def _objects(self) -> None:
        """The Kubernetes objects, in order; the DaemonSet after its identity, its groups and its
        ConfigMap (a config change rolls the pods through the config hash annotation)."""
        import pulumi_kubernetes as k8s

        args = self._args
        irsa = args.platform.identity.mode == "irsa"
        typed: dict[str, Any] = {
            "Namespace": k8s.core.v1.Namespace, "ServiceAccount": k8s.core.v1.ServiceAccount,
            "ConfigMap": k8s.core.v1.ConfigMap, "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
            "DaemonSet": k8s.apps.v1.DaemonSet}
        fields = {"data": "data", "spec": "spec", "automountServiceAccountToken": "automount_service_account_token"}
        text = self._region.apply(lambda r: config_text(args.platform, r))
        digest = text.apply(lambda t: hashlib.sha256(t.encode()).hexdigest()[:16])
        manifests = plan.manifests(args.platform, cast(str, self.role.arn) if irsa else None,
                                   cast(str, text), cast(str, digest))
        self.objects: dict[str, Any] = {}
        identity: list[pulumi.Resource] = [self.policy, *([self.association] if self.association else [])]
        for m in manifests:
            kind = m["kind"]
            wait = ([*identity, *self.groups.values(), *self.objects.values(), *args.depends_on]
                    if kind == "DaemonSet" else list(self.objects.values())[:1])  # all after the namespace
            self.objects[kind] = typed[kind](
                f"{args.platform.name}_log-router-{kind.lower()}", metadata=m["metadata"],
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=wait),
                **{fields[k]: v for k, v in m.items() if k not in ("apiVersion", "kind", "metadata")})
