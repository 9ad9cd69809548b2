"""The observability plan: Container Insights metrics, per-tenant dashboards, saved Logs Insights
queries over the audit and flow logs, and AWS Backup of the cluster.

Pure functions, no Pulumi (:mod:`tenancy.components.observability` builds the resources). Choices
and sources (docs/observability.md, "Metrics", "Saved queries", "Backups"):

* **Metrics: the ``amazon-cloudwatch-observability`` EKS add-on** (Container Insights). An EKS managed
  add-on (no Helm state, versions resolved like the others: :mod:`tenancy.plan.addons`), its
  credentials through IRSA or Pod Identity on ``amazon-cloudwatch/cloudwatch-agent`` with the
  actions of the AWS managed ``CloudWatchAgentServerPolicy`` (CloudWatch user guide,
  ``install-CloudWatch-Observability-EKS-addon``) but log writes limited to this cluster's
  ``/aws/containerinsights/<cluster>/*`` groups (:func:`agent_policy`): the managed policy's
  ``logs:PutLogEvents`` on ``*`` would let it write into any tenant's log group. Its agent
  DaemonSet runs on the host network (aws-observability/helm-charts ``charts/amazon-cloudwatch-observability``: the
  ``AmazonCloudWatchAgent`` resource has ``hostNetwork: true``), so NetworkPolicies do not apply to
  it and its paths are the nodes' security groups: node → ``monitoring`` and ``logs`` interface
  endpoints on 443, node → API. The chart's default ``tolerations: [{operator: Exists}]`` is set
  explicitly (``configurationValues`` replaces the whole configuration) so the agent runs on
  dedicated tenant nodes and pools whatever their taints. **Container log shipping is off**
  (``containerLogs.enabled: false``): the add-on's Fluent Bit sends every namespace's logs to ONE
  group, ``/aws/containerinsights/<cluster>/application`` (chart ``values.yaml``), which would mix
  tenants; per-tenant workload logs are ``observability.logs``'s job.
* **Dashboards**: one CloudWatch dashboard per tenant whose widgets read only metrics with the
  dimensions ``ClusterName`` and ``Namespace`` = the tenant's namespaces (CloudWatch user guide,
  ``Container-Insights-metrics-EKS``: ``namespace_number_of_running_pods``, ``pod_cpu_utilization``,
  ``pod_memory_utilization``, ``pod_network_rx_bytes``, ``pod_network_tx_bytes`` carry
  ``ClusterName, Namespace``).
* **Saved queries** (``aws.cloudwatch.QueryDefinition``): per tenant, "who accessed my namespace"
  over the EKS audit log (``/aws/eks/<cluster>/cluster``, streams ``kube-apiserver-audit-*``;
  fields of the ``audit.k8s.io/v1`` Event: ``user.username``, ``verb``, ``objectRef.namespace``…)
  and "which flows reached my subnets from other tenants' blocks" over the VPC flow log group, whose
  custom record format is :data:`tenancy.plan.network.FLOW_LOG_FIELDS` (space separated, so the
  query ``parse``s ``@message`` with a pattern generated from the same tuple). Each query has a
  pure twin (:func:`audit_matches`, :func:`flow_matches`) the tests run on sample records.
* **Backups: AWS Backup for EKS** (EKS user guide ``integration-backup``; AWS Backup developer guide
  ``eks-backups``, ``restoring-eks``): a plan on the cluster ARN makes composite recovery points
  (cluster state + EBS/EFS/S3 persistent volumes); a restore can be limited to namespaces and is
  non-destructive (it never overwrites existing objects). No in-cluster component, no API a tenant
  could reach (Velero's ``Backup``/``Restore`` objects are cluster-admin-grade: a restore writes
  into any namespace). The selection is the whole cluster: AWS Backup selects EKS clusters, not
  namespaces, so per-tenant scope is at RESTORE time (:func:`restore_scope`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, ip_address
from typing import Any

from tenancy.plan import network as netplan
from tenancy.spec import PlatformSpec, naming

ADDON = "amazon-cloudwatch-observability"
AGENT_SERVICE_ACCOUNT = ("amazon-cloudwatch", "cloudwatch-agent")
"""The add-on's agent ServiceAccount (CloudWatch user guide, install-CloudWatch-Observability-EKS-addon:
``--service-account-name cloudwatch-agent --namespace amazon-cloudwatch``)."""
AGENT_MANAGED_POLICY = "CloudWatchAgentServerPolicy"
"""The AWS managed policy the CloudWatch docs attach (``cloudwatch:PutMetricData``,
``logs:PutLogEvents``/``CreateLogStream``/``CreateLogGroup``/``PutRetentionPolicy``/``DescribeLog*``,
``ec2:DescribeVolumes``/``DescribeTags``, ``xray:Put*``/``GetSampling*``, ``ssm:GetParameter`` on
``AmazonCloudWatch-*``) — every log write on ``*``: it could write into any tenant's log group.
tenancy attaches :func:`agent_policy` instead, the same actions with log writes limited to the
Container Insights groups of this cluster."""
CONTAINER_INSIGHTS_GROUPS = "/aws/containerinsights/{cluster}/*"
"""The groups the agent writes (``performance``; ``application``/``dataplane``/``host`` only with
container logs on, which tenancy turns off): CloudWatch user guide Container-Insights-view-metrics."""
METRICS_ENDPOINT = netplan.METRICS_ENDPOINT
"""Interface endpoint service for CloudWatch metrics (``PutMetricData``); ``logs`` is already one
of the platform's (:data:`tenancy.plan.network.INTERFACE_ENDPOINTS`): the agent's performance log
events go to ``/aws/containerinsights/<cluster>/performance`` through it."""
METRIC_NAMESPACE = "ContainerInsights"
NAMESPACE_METRICS = ("namespace_number_of_running_pods", "pod_cpu_utilization", "pod_memory_utilization",
                     "pod_network_rx_bytes", "pod_network_tx_bytes")
"""Container Insights metrics with the dimensions ``ClusterName, Namespace`` (Container-Insights-metrics-EKS)."""

AUDIT_STREAM_PREFIX = "kube-apiserver-audit"
BACKUP_MANAGED_POLICIES = ("service-role/AWSBackupServiceRolePolicyForBackup",
                           "service-role/AWSBackupServiceRolePolicyForRestores")
"""AWS managed: what AWS Backup needs to back up an EKS cluster and its EBS/EFS volumes and to
restore them (EKS user guide integration-backup: 'AWSBackupServiceRolePolicyForBackup')."""
BACKUP_SERVICE = "backup.amazonaws.com"


# --------------------------------------------------------------------------------------------
# Metrics


def metrics_enabled(spec: PlatformSpec) -> bool:
    return spec.observability.metrics.enabled


def agent_policy(partition: str, region: str, account: str, cluster: str) -> dict[str, Any]:
    """The agent's permissions: :data:`AGENT_MANAGED_POLICY`'s actions, log writes only to this
    cluster's Container Insights groups, no read of any log event, no SSM."""
    group = f"arn:{partition}:logs:{region}:{account}:log-group:{CONTAINER_INSIGHTS_GROUPS.format(cluster=cluster)}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Metrics", "Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*"},
        {"Sid": "Describe", "Effect": "Allow",
         "Action": ["ec2:DescribeVolumes", "ec2:DescribeTags", "logs:DescribeLogGroups"], "Resource": "*"},
        {"Sid": "ContainerInsightsLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                    "logs:PutRetentionPolicy"],
         "Resource": [group, f"{group}:log-stream:*"]},
        {"Sid": "Traces", "Effect": "Allow",
         "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                    "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries"], "Resource": "*"},
    ]}


def addon_configuration() -> dict[str, Any]:
    """The add-on's ``configurationValues`` (keys from the chart's ``values.yaml``): tolerate every
    taint (the chart default, set because the configuration replaces it), no container log shipping
    to the shared ``application`` group."""
    return {"tolerations": [{"operator": "Exists"}], "containerLogs": {"enabled": False}}


def tenant_namespaces(spec: PlatformSpec, tenant: str) -> list[str]:
    """The namespaces a tenant's dashboard and queries cover."""
    return naming.tenant_namespaces(spec.tenant(tenant))


def dashboard_name(platform: str, tenant: str) -> str:
    return f"{platform}-{tenant}"


def dashboard_body(cluster: str, region: str, namespaces: Sequence[str]) -> dict[str, Any]:
    """A CloudWatch dashboard of ``namespaces`` only: one metric widget per Container Insights
    namespace-level metric, every series pinned to ``ClusterName`` and one ``Namespace``."""
    widgets = []
    for i, metric in enumerate(NAMESPACE_METRICS):
        widgets.append({
            "type": "metric", "x": (i % 2) * 12, "y": (i // 2) * 6, "width": 12, "height": 6,
            "properties": {
                "title": metric, "region": region, "view": "timeSeries", "stat": "Average", "period": 300,
                "metrics": [[METRIC_NAMESPACE, metric, "ClusterName", cluster, "Namespace", ns] for ns in namespaces],
            },
        })
    return {"widgets": widgets}


def dashboard_namespaces(body: Mapping[str, Any]) -> set[str]:
    """Every ``Namespace`` dimension value a dashboard body reads (for checks and facts)."""
    out: set[str] = set()
    for w in body.get("widgets") or []:
        for m in (w.get("properties") or {}).get("metrics") or []:
            dims = list(m[2:])
            out.update(str(dims[i + 1]) for i in range(0, len(dims) - 1, 2) if dims[i] == "Namespace")
    return out


# --------------------------------------------------------------------------------------------
# Saved queries


def audit_log_group(cluster: str) -> str:
    """The EKS control-plane log group (EKS user guide control-plane-logs)."""
    return f"/aws/eks/{cluster}/cluster"


def flow_log_group(platform: str) -> str:
    """The flow log group :class:`tenancy.components.network.Network` creates (cloudWatch destination)."""
    return f"/tenancy/{platform}/vpc-flow-logs"


def query_name(platform: str, tenant: str, kind: str) -> str:
    """Query definitions are listed by name, ``/`` making folders in the console."""
    return f"tenancy/{platform}/{tenant}/{kind}"


def _quote(s: str) -> str:
    return json.dumps(s)


def audit_query(namespaces: Sequence[str]) -> str:
    """Who accessed the tenant's namespaces: audit events (``kube-apiserver-audit-*`` streams) whose
    ``objectRef.namespace`` is one of them, counted by user, verb, resource and response code."""
    ns = ", ".join(_quote(n) for n in namespaces)
    return (
        "fields @timestamp, user.username, verb, objectRef.resource, objectRef.namespace, responseStatus.code\n"
        f"| filter @logStream like /^{AUDIT_STREAM_PREFIX}/ and objectRef.namespace in [{ns}]\n"
        "| stats count(*) as requests by user.username, verb, objectRef.resource, objectRef.namespace, "
        "responseStatus.code\n"
        "| sort requests desc"
    )


def audit_matches(stream: str, event: Mapping[str, Any], namespaces: Iterable[str]) -> bool:
    """The twin of :func:`audit_query`'s filter, on one audit.k8s.io/v1 Event."""
    ref = event.get("objectRef") or {}
    return stream.startswith(AUDIT_STREAM_PREFIX) and ref.get("namespace") in set(namespaces)


FLOW_FIELD_NAMES = tuple(f.replace("-", "_") for f in netplan.FLOW_LOG_FIELDS)
"""The flow record's fields as query identifiers (``pkt-srcaddr`` → ``pkt_srcaddr``)."""


def flow_parse_clause() -> str:
    """``parse @message`` for the platform's custom record format: one ``*`` per field of
    :data:`tenancy.plan.network.FLOW_LOG_FIELDS`, separated by single spaces like the records."""
    glob = " ".join("*" for _ in FLOW_FIELD_NAMES)
    return f'parse @message "{glob}" as {", ".join(FLOW_FIELD_NAMES)}'


def tenant_block(spec: PlatformSpec, tenant: str) -> IPv4Network:
    """The address block holding the tenant's nodes and pods (its own, or its pool's)."""
    return spec.address_plan.tenant_block(spec.block_slot(spec.tenant(tenant)))


def foreign_scope(spec: PlatformSpec, tenant: str) -> tuple[IPv4Network, list[IPv4Network]]:
    """Where "other tenants' blocks" are: the VPC minus the public and system blocks and minus the
    tenant's own block — a constant-size filter, whatever the tenant count."""
    ap = spec.address_plan
    return ap.vpc, [ap.block(0), ap.block(1), tenant_block(spec, tenant)]


def flow_query(spec: PlatformSpec, tenant: str) -> str:
    """Flows whose packet destination is in the tenant's block and whose packet source is in another
    tenant's block (``pkt-srcaddr``/``pkt-dstaddr``: the pod addresses), by action."""
    own = tenant_block(spec, tenant)
    vpc, excluded = foreign_scope(spec, tenant)
    nots = " and ".join(f'not isIpv4InSubnet(pkt_srcaddr, "{n}")' for n in excluded)
    return (
        f"{flow_parse_clause()}\n"
        f'| filter isIpv4InSubnet(pkt_dstaddr, "{own}") and isIpv4InSubnet(pkt_srcaddr, "{vpc}") and {nots}\n'
        "| stats count(*) as flows, sum(bytes) as bytes by pkt_srcaddr, pkt_dstaddr, dstport, protocol, action\n"
        "| sort flows desc"
    )


def _in(addr: str, net: IPv4Network) -> bool:
    try:
        a = ip_address(addr)
    except ValueError:
        return False  # "-": no address recorded
    return isinstance(a, IPv4Address) and a in net


def flow_matches(spec: PlatformSpec, tenant: str, record: Mapping[str, str]) -> bool:
    """The twin of :func:`flow_query`'s filter, on one parsed record (field names of FLOW_FIELD_NAMES)."""
    own = tenant_block(spec, tenant)
    vpc, excluded = foreign_scope(spec, tenant)
    src, dst = record.get("pkt_srcaddr", "-"), record.get("pkt_dstaddr", "-")
    return _in(dst, own) and _in(src, vpc) and not any(_in(src, n) for n in excluded)


def saved_queries(spec: PlatformSpec, tenant: str) -> list[dict[str, Any]]:
    """The tenant's query definitions: name, log groups, query string. The flow query only when flow
    logs go to CloudWatch (with S3 they are read with Athena, docs/observability.md)."""
    if not spec.observability.saved_queries:
        return []
    cluster = naming.cluster_name(spec.name)
    ns = tenant_namespaces(spec, tenant)
    out = [{"kind": "audit", "name": query_name(spec.name, tenant, "who-accessed-my-namespace"),
            "logGroups": [audit_log_group(cluster)], "query": audit_query(ns)}]
    if spec.network.flow_logs.destination == "cloudWatch":
        out.append({"kind": "flows", "name": query_name(spec.name, tenant, "flows-from-other-tenants"),
                    "logGroups": [flow_log_group(spec.name)], "query": flow_query(spec, tenant)})
    return out


# --------------------------------------------------------------------------------------------
# Backups


def backup_enabled(spec: PlatformSpec) -> bool:
    return spec.observability.backup.enabled


def backup_rule(spec: PlatformSpec) -> dict[str, Any]:
    """The plan's one rule: the spec's schedule and retention."""
    b = spec.observability.backup
    return {"rule_name": "scheduled",
            "schedule": b.schedule, "lifecycle": {"delete_after": b.retention_days}}


def backup_trust_policy() -> dict[str, Any]:
    """Trust of the backup role: the AWS Backup service only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": BACKUP_SERVICE}, "Action": "sts:AssumeRole"}]}


def vault_key_policy(partition: str, account_id: str) -> dict[str, Any]:
    """Key policy of the vault key: administered through IAM (like the default key policy)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "AccountAdministersTheKey", "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"}, "Action": "kms:*", "Resource": "*"}]}


def restore_scope(spec: PlatformSpec, tenant: str) -> list[str]:
    """The namespaces a restore of ``tenant`` names: its own, never another tenant's."""
    return tenant_namespaces(spec, tenant)

