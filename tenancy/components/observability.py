"""Metrics, saved queries and backups for the platform and each tenant.

* :class:`PlatformObservability` (``tenancy:observability:PlatformObservability``), one per platform,
  built by :class:`tenancy.Platform` when any of ``observability.metrics``,
  ``observability.savedQueries`` or ``observability.backup`` is on:

  - metrics: the ``amazon-cloudwatch-observability`` add-on with its own role (IRSA or Pod
    Identity; log writes only to the cluster's Container Insights groups) and one CloudWatch
    dashboard per tenant;
  - saved queries: per tenant, Logs Insights query definitions over the audit and flow logs;
  - backups: a KMS-encrypted AWS Backup vault, a plan, a selection of the EKS cluster and the
    role AWS Backup assumes.

Decisions and sources are in :mod:`tenancy.plan.observability` and ``docs/observability.md``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from tenancy.components import invokes
from tenancy.components.addon import service_account_trust
from tenancy.plan import cluster as cplan
from tenancy.plan import observability as plan
from tenancy.spec import PlatformSpec, naming
from tenancy.spec.wire import TENANT_OBSERVABILITY_TYPE


def _managed(policy: str, partition: str) -> str:
    return cplan.managed_policy_arn(partition, policy)


def _dashboard_json(cluster: str, namespaces: list[str], region: str) -> str:
    return json.dumps(plan.dashboard_body(cluster, region, namespaces), sort_keys=True)


__all__ = ["PlatformObservability", "PlatformObservabilityArgs", "TenantObservability"]


class TenantObservability(pulumi.ComponentResource):
    """One tenant's dashboard and saved queries, named after the tenant (so a render attributes
    them to it, like the tenant's own resources)."""

    def __init__(self, tenant: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TENANT_OBSERVABILITY_TYPE, tenant, None, opts)
        self.register_outputs({})


@dataclass(frozen=True)
class PlatformObservabilityArgs:
    """Inputs of :class:`PlatformObservability` (from the cluster layer)."""

    platform: PlatformSpec
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    """The selection of the backup plan, and Pod Identity's trust pin."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    """IRSA (``identity.mode: irsa``): the cluster's OIDC provider and issuer (no ``https://``)."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the add-on waits for (system nodes; with Pod Identity, the agent add-on)."""


class PlatformObservability(pulumi.ComponentResource):
    """The metrics add-on and its role, per-tenant dashboards and saved queries, AWS Backup.

    Attributes: ``addon``, ``agent_role``, ``dashboards``, ``queries``, ``vault``, ``backup_plan``,
    ``backup_selection``, ``backup_role`` (None when their option is off).
    """

    def __init__(self, name: str, args: PlatformObservabilityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenancy:observability:PlatformObservability", name, None, opts)
        import pulumi_aws as aws

        self._args = args
        self._tags = naming.tags(args.platform.name)
        self._child = pulumi.ResourceOptions(parent=self)
        self._partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self)).partition
        self._account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        self._region = invokes.region(self)
        self.addon: Any = None
        self.agent_role: Any = None
        self.addon_version: pulumi.Output[str] | None = None
        self.tenants: dict[str, TenantObservability] = {}
        self.dashboards: dict[str, Any] = {}
        self.queries: dict[str, list[Any]] = {}
        self.vault: Any = None
        self.backup_plan: Any = None
        self.backup_selection: Any = None
        self.backup_role: Any = None
        for t in args.platform.tenants:
            self.tenants[t.name] = TenantObservability(t.name, opts=self._child)
        if plan.metrics_enabled(args.platform):
            self._metrics()
        self._queries()
        if plan.backup_enabled(args.platform):
            self._backup()
        self.register_outputs({})

    def _n(self, role: str) -> str:
        return cplan.platform_resource_name(self._args.platform.name, role)

    def _metrics(self) -> None:
        """The add-on, its role (:func:`plan.agent_policy`), a dashboard per tenant."""
        import pulumi_aws as aws

        args, n, child = self._args, self._n, self._child
        ns, sa = plan.AGENT_SERVICE_ACCOUNT
        irsa = args.platform.identity.mode == "irsa"
        self.agent_role = aws.iam.Role(
            n("cloudwatch-agent-role"), name=n("cloudwatch-agent"),
            description=f"CloudWatch agent ({ns}/{sa}) via {'IRSA' if irsa else 'Pod Identity'}",
            assume_role_policy=service_account_trust(args, ns, sa), tags=self._tags, opts=child)
        cluster = naming.cluster_name(args.platform.name)
        managed = aws.iam.RolePolicy(
            n("cloudwatch-agent-policy"), role=self.agent_role.name, name="cloudwatch-agent",
            policy=pulumi.Output.all(self._partition, self._region, self._account).apply(
                lambda a: json.dumps(plan.agent_policy(a[0], a[1], a[2], cluster))),
            opts=child)
        identity: dict[str, Any] = (
            {"service_account_role_arn": self.agent_role.arn} if irsa else
            {"pod_identity_associations": [{"role_arn": self.agent_role.arn, "service_account": sa}]})
        self.addon_version = invokes.addon_version(self, plan.ADDON, args.platform.kubernetes_version)
        self.addon = aws.eks.Addon(
            n("cloudwatch-observability"), cluster_name=args.cluster_name, addon_name=plan.ADDON,
            addon_version=self.addon_version,
            configuration_values=json.dumps(plan.addon_configuration(), sort_keys=True),
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE", tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[managed, *args.depends_on]), **identity)
        spec = args.platform
        for t in spec.tenants:
            body = self._region.apply(functools.partial(_dashboard_json, cluster, plan.tenant_namespaces(spec, t.name)))
            self.dashboards[t.name] = aws.cloudwatch.Dashboard(
                n(f"dashboard-{t.name}"), dashboard_name=plan.dashboard_name(spec.name, t.name),
                dashboard_body=body, opts=pulumi.ResourceOptions(parent=self.tenants[t.name]))

    def _queries(self) -> None:
        """Each tenant's saved Logs Insights queries (audit; flows when they go to CloudWatch)."""
        import pulumi_aws as aws

        spec = self._args.platform
        for t in spec.tenants:
            self.queries[t.name] = [
                aws.cloudwatch.QueryDefinition(
                    self._n(f"query-{t.name}-{q['kind']}"), name=q["name"], log_group_names=q["logGroups"],
                    query_string=q["query"], opts=pulumi.ResourceOptions(parent=self.tenants[t.name]))
                for q in plan.saved_queries(spec, t.name)]

    def _backup(self) -> None:
        """The vault (own KMS key), the plan, the role AWS Backup assumes, the cluster selection."""
        import pulumi_aws as aws

        n, child, tags = self._n, self._child, self._tags
        key = aws.kms.Key(
            n("backup-key"), description=f"AWS Backup vault of EKS cluster {self._args.platform.name}",
            enable_key_rotation=True, deletion_window_in_days=30,
            policy=pulumi.Output.all(self._partition, self._account).apply(
                lambda a: json.dumps(plan.vault_key_policy(a[0], a[1]))),
            tags=tags, opts=child)
        self.vault = aws.backup.Vault(n("backup-vault"), name=n("backup"), kms_key_arn=key.arn, tags=tags,
                                      opts=child)
        rule = plan.backup_rule(self._args.platform)
        self.backup_plan = aws.backup.Plan(
            n("backup-plan"), name=n("backup"),
            rules=[aws.backup.PlanRuleArgs(
                rule_name=rule["rule_name"], target_vault_name=self.vault.name, schedule=rule["schedule"],
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=rule["lifecycle"]["delete_after"]))],
            tags=tags, opts=child)
        self.backup_role = aws.iam.Role(
            n("backup-role"), name=n("backup"), description="AWS Backup: back up and restore the EKS cluster",
            assume_role_policy=json.dumps(plan.backup_trust_policy()), tags=tags, opts=child)
        attached = [aws.iam.RolePolicyAttachment(
            n(f"backup-{p.rsplit('/', 1)[-1]}"), role=self.backup_role.name,
            policy_arn=self._partition.apply(functools.partial(_managed, p)), opts=child)
            for p in plan.BACKUP_MANAGED_POLICIES]
        self.backup_selection = aws.backup.Selection(
            n("backup-selection"), name=n("cluster"), plan_id=self.backup_plan.id, iam_role_arn=self.backup_role.arn,
            resources=[self._args.cluster_arn],
            opts=pulumi.ResourceOptions(parent=self, depends_on=attached))
