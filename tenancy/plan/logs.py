"""Per-tenant workload logs: names, IAM and KMS documents, the log router's configuration and its
in-cluster objects, as plain data (no Pulumi). See docs/observability.md.

What lands where
----------------
Each tenant gets ONE CloudWatch log group, ``/tenancy/<platform>/<tenant>/containers``
(:func:`log_group_name`), encrypted with the platform's logs KMS key and kept
``observability.logs.retentionDays``. A log router (an OpenTelemetry Collector DaemonSet on
every tenant and pool node) reads the container log files the kubelet writes,
``/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log``, and sends them on.

Routing is FIXED per tenant, by file path: tenant ``t``'s pipeline has its own filelog receiver
that includes only ``/var/log/pods/<ns>_*/*/*.log`` for each of ``t``'s namespaces and its own
awscloudwatchlogs exporter with the literal group name ``/tenancy/<platform>/<t>/containers``.
No exporter name is built from a log record's attributes, so no record can be steered into
another tenant's group and nothing falls back to a shared group. Namespace names are DNS-1123
labels, which never contain ``_``, so ``<ns>_*`` matches exactly namespace ``<ns>`` (``a_*`` does
not match ``a-b_…``). Files of namespaces no tenant owns (kube-system, the platform namespaces)
match no receiver and are NOT read: the router drops them by never opening them.

Who may do what (IAM)
---------------------
* The router's role (IRSA or Pod Identity, like every add-on identity): ``logs:CreateLogStream``
  on the platform's tenant container groups (``log-group:/tenancy/<platform>/*/containers``) and
  ``logs:PutLogEvents`` on their streams (``…/containers:log-stream:*``) — resource types as in
  the Service Authorization Reference, "Actions, resources, and condition keys for Amazon
  CloudWatch Logs" (CreateLogStream: ``log-group``; PutLogEvents: ``log-stream``). Nothing else:
  no ``CreateLogGroup`` (groups are the platform's, with KMS and retention), no read, and not the
  platform's other groups (``/tenancy/<platform>/vpc-flow-logs`` does not end in ``/containers``:
  the router cannot forge flow-log records).
* Each tenant's reader role ``<platform>.<tenant>@logs-reader``, assumable by the tenant's
  principals (``admins``, ``editors``, ``viewers``): read actions on exactly its group and its
  streams. ``logs:GetQueryResults`` and ``logs:StopQuery`` support no resource-level permissions
  (Service Authorization Reference: no resource type listed, so ``"Resource": "*"``); they act on
  a query ID, which only ``StartQuery`` returns — and ``StartQuery`` is scoped to the tenant's
  group. ``logs:DescribeQueries`` (which would list other queries' IDs) is not granted.
* The logs key: CloudWatch Logs (``logs.<region>.amazonaws.com``) may use it only for the tenant
  container groups, through the condition ``kms:EncryptionContext:aws:logs:arn`` (CloudWatch Logs
  User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS", step 2: the key policy with an
  ``ArnLike`` condition on that context key). Readers need no KMS permission: CloudWatch Logs
  decrypts on their behalf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tenancy.plan import iam
from tenancy.plan.kubernetes import KUBE_DNS_LABELS, KUBE_DNS_NAMESPACE, Manifest, namespace_selector
from tenancy.spec import PlatformSpec, TenantSpec, naming
from tenancy.spec.errors import Problem
from tenancy.spec.wire import (
    CONFIG_HASH_ANNOTATION,
    IRSA_ANNOTATION,
    MANAGED_BY_LABEL,
    NETWORKING_API_VERSION,
    POOL_LABEL,
    TENANT_LABEL,
)
from tenancy.spec.wire import PLATFORM_TAG as PLATFORM_LABEL

PODS_LOG_DIR = "/var/log/pods"
"""Where the kubelet writes container logs: ``<namespace>_<pod>_<uid>/<container>/<restart>.log``
(kubernetes ``pkg/kubelet/kuberuntime/helpers.go``, ``BuildPodLogsDirectory``)."""
ROUTER_NAME = "log-router"
"""Name of the router's ServiceAccount, DaemonSet, ConfigMap and NetworkPolicy."""
ROUTER_LABELS = {"app.kubernetes.io/name": ROUTER_NAME}
ROUTER_ROLE_OWNER = "platform"
"""The router's IAM role is named as a service account of the reserved tenant name ``platform``
(``<platform>.platform.log-router``): no tenant can be called that, so no tenant role can collide."""
READER_SUFFIX = "@logs-reader"
"""Reader role names end in ``@logs-reader``: ``@`` is valid in IAM role names but never in a
Kubernetes service account name, so a reader role never collides with a workload role."""
GROUP_SUFFIX = "containers"
EXPORTER = "awscloudwatchlogs"
"""The OpenTelemetry Collector contrib exporter (``exporter/awscloudwatchlogsexporter``)."""
HTTPS_PORT = 443
POD_IDENTITY_AGENT = "169.254.170.23/32"
POD_IDENTITY_AGENT_PORT = 80

READ_ON_GROUP: tuple[str, ...] = ("logs:DescribeLogStreams", "logs:FilterLogEvents", "logs:StartQuery",
                                  "logs:GetLogGroupFields")
"""Reader actions whose resource type is ``log-group`` (Service Authorization Reference)."""
READ_ON_STREAM: tuple[str, ...] = ("logs:GetLogEvents",)
"""Reader actions whose resource type is ``log-stream``."""
READ_ON_ANY: tuple[str, ...] = ("logs:GetQueryResults", "logs:StopQuery")
"""Reader actions with no resource-level permissions: they take a query ID (see module doc)."""
WRITE_ON_GROUP: tuple[str, ...] = ("logs:CreateLogStream",)
WRITE_ON_STREAM: tuple[str, ...] = ("logs:PutLogEvents",)


# --------------------------------------------------------------------------------------------
# Names


def tenant_namespaces(tenant: TenantSpec) -> list[str]:
    """The namespaces whose container logs belong to ``tenant``: every one of them, its extra
    ``namespaces`` included (:func:`tenancy.spec.naming.tenant_namespaces`)."""
    return naming.tenant_namespaces(tenant)


def log_group_prefix(platform: str) -> str:
    return f"/tenancy/{platform}/"


def log_group_name(platform: str, tenant: str) -> str:
    """``/tenancy/<platform>/<tenant>/containers``."""
    return f"{log_group_prefix(platform)}{tenant}/{GROUP_SUFFIX}"


def group_arn(partition: str, region: str, account: str, group: str) -> str:
    """A log group's ARN as IAM and the KMS encryption context name it (no ``:*`` suffix)."""
    return f"arn:{partition}:logs:{region}:{account}:log-group:{group}"


def router_role_name(platform: str) -> str:
    return naming.service_account_role_name(platform, ROUTER_ROLE_OWNER, ROUTER_NAME)


def reader_role_name(platform: str, tenant: str) -> str:
    return f"{platform}.{tenant}{READER_SUFFIX}"


def tenant_principals(tenant: TenantSpec) -> list[str]:
    """The people mapped to the tenant's personas: they may assume its reader role."""
    return sorted({*tenant.admins, *tenant.editors, *tenant.viewers})


# --------------------------------------------------------------------------------------------
# Spec checks (across fields)


def problems(spec: PlatformSpec) -> list[Problem]:
    """Checks ``observability.logs`` cannot make alone: the router's namespace is nobody's
    tenant namespace, and the reader role names fit IAM's 64 characters."""
    logs = spec.observability.logs
    if not logs.enabled:
        return []
    out: list[Problem] = []
    for i, t in enumerate(spec.tenants):
        if logs.namespace in tenant_namespaces(t):
            out.append(Problem("observability.logs.namespace", (
                f"{logs.namespace!r} is tenant {t.name!r}'s namespace; the log router must run in a platform "
                "namespace: choose another observability.logs.namespace")))
        name = reader_role_name(spec.name, t.name)
        if len(name) > naming.IAM_ROLE_NAME_MAX:
            out.append(Problem(f"tenants[{i}].name", (
                f"the log reader role name {name!r} is {len(name)} characters, over IAM's "
                f"{naming.IAM_ROLE_NAME_MAX}; shorten the tenant name (or the platform name) by "
                f"{len(name) - naming.IAM_ROLE_NAME_MAX}"), t.name))
    return out


# --------------------------------------------------------------------------------------------
# IAM and KMS documents


def _containers_pattern(partition: str, region: str, account: str, platform: str) -> str:
    return group_arn(partition, region, account, f"{log_group_prefix(platform)}*/{GROUP_SUFFIX}")


def router_policy(partition: str, region: str, account: str, platform: str) -> dict[str, Any]:
    """The router's permissions: create streams in and put events to the platform's tenant
    container groups, nothing else (module doc)."""
    groups = _containers_pattern(partition, region, account, platform)
    return {"Version": iam.VERSION, "Statement": [
        {"Sid": "CreateStreamsInTenantContainerGroups", "Effect": "Allow", "Action": list(WRITE_ON_GROUP),
         "Resource": groups},
        {"Sid": "PutEventsToTenantContainerStreams", "Effect": "Allow", "Action": list(WRITE_ON_STREAM),
         "Resource": f"{groups}:log-stream:*"},
    ]}


def reader_policy(partition: str, region: str, account: str, platform: str, tenant: str) -> dict[str, Any]:
    """A tenant reader's permissions: read exactly the tenant's group and its streams."""
    group = group_arn(partition, region, account, log_group_name(platform, tenant))
    return {"Version": iam.VERSION, "Statement": [
        {"Sid": "ReadOwnGroup", "Effect": "Allow", "Action": list(READ_ON_GROUP), "Resource": group},
        {"Sid": "ReadOwnStreams", "Effect": "Allow", "Action": list(READ_ON_STREAM),
         "Resource": f"{group}:log-stream:*"},
        # GetQueryResults/StopQuery: no resource-level permissions (Service Authorization
        # Reference, CloudWatch Logs); they need a query ID that only StartQuery (scoped above) returns.
        {"Sid": "OwnQueryResults", "Effect": "Allow", "Action": list(READ_ON_ANY), "Resource": "*"},
    ]}


def reader_trust_policy(principals: Sequence[str]) -> dict[str, Any]:
    """Who may assume a tenant's reader role: exactly the tenant's principals. ``ValueError``
    without any (IAM rejects a trust policy without a principal; no role is made then)."""
    if not principals:
        raise ValueError("a reader role needs at least one principal")
    return {"Version": iam.VERSION, "Statement": [{
        "Sid": "TenantPrincipals", "Effect": "Allow", "Principal": {"AWS": sorted(principals)},
        "Action": "sts:AssumeRole",
    }]}


def key_policy(partition: str, region: str, account: str, platform: str) -> dict[str, Any]:
    """The logs key: the account administers it through IAM; CloudWatch Logs may use it for the
    platform's tenant container groups only (CloudWatch Logs User Guide, "Encrypt log data in
    CloudWatch Logs using AWS KMS": ``ArnLike`` on ``kms:EncryptionContext:aws:logs:arn``)."""
    return {"Version": iam.VERSION, "Statement": [
        {"Sid": "AccountAdministersTheKey", "Effect": "Allow",
         "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "CloudWatchLogsForTenantContainerGroups", "Effect": "Allow",
         "Principal": {"Service": f"logs.{region}.{iam.dns_suffix(partition)}"},
         "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
         "Resource": "*",
         "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                   _containers_pattern(partition, region, account, platform)}}},
    ]}


# --------------------------------------------------------------------------------------------
# The router's configuration (OpenTelemetry Collector)


def receiver_id(tenant: str) -> str:
    return f"filelog/{tenant}"


def exporter_id(tenant: str) -> str:
    return f"{EXPORTER}/{tenant}"


def pipeline_id(tenant: str) -> str:
    return f"logs/{tenant}"


def include_globs(tenant: TenantSpec, pods_dir: str = PODS_LOG_DIR) -> list[str]:
    """The tenant's container log files: ``<pods_dir>/<ns>_*/*/*.log`` per namespace."""
    return [f"{pods_dir}/{ns}_*/*/*.log" for ns in tenant_namespaces(tenant)]


def collector_config(spec: PlatformSpec, region: str, *, pods_dir: str = PODS_LOG_DIR) -> dict[str, Any]:
    """The router's collector configuration: per tenant a filelog receiver reading only the
    tenant's namespaces' files, an exporter with the tenant's literal log group, and a pipeline
    joining the two (module doc). ``pods_dir`` is for tests."""
    receivers: dict[str, Any] = {}
    exporters: dict[str, Any] = {}
    pipelines: dict[str, Any] = {}
    for t in spec.tenants:
        receivers[receiver_id(t.name)] = {
            "include": include_globs(t, pods_dir),
            # the kubelet's own rotated files are *.log.<timestamp>[.gz]: not matched by *.log
            "include_file_path": True,
            "start_at": "beginning",
            # parses CRI-O/containerd ("<time> <stream> <P|F> <msg>", joining partial lines) and
            # docker JSON lines, and sets k8s.namespace.name/k8s.pod.name/… from the path
            "operators": [{"type": "container", "id": "container-parser"}],
        }
        exporters[exporter_id(t.name)] = {
            "region": region,
            "log_group_name": log_group_name(spec.name, t.name),
            "log_stream_name": "${env:NODE_NAME}",
            "raw_log": True,
        }
        pipelines[pipeline_id(t.name)] = {"receivers": [receiver_id(t.name)], "exporters": [exporter_id(t.name)]}
    return {
        "receivers": receivers,
        "exporters": exporters,
        "service": {"pipelines": pipelines, "telemetry": {"metrics": {"level": "none"}}},
    }


def routes(config: Mapping[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    """What a collector configuration sends where: per pipeline, the files its receivers include
    and the log groups its exporters write. The review's facts compare these across renders."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    recv = config.get("receivers") or {}
    exp = config.get("exporters") or {}
    for name, p in ((config.get("service") or {}).get("pipelines") or {}).items():
        files = sorted(g for r in p.get("receivers", []) for g in (recv.get(r) or {}).get("include", []))
        groups = sorted(str((exp.get(e) or {}).get("log_group_name", f"<{e}>")) for e in p.get("exporters", []))
        out[name] = (files, groups)
    return out


# --------------------------------------------------------------------------------------------
# In-cluster objects


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "labels": {MANAGED_BY_LABEL: naming.MANAGED_BY, PLATFORM_LABEL: "true"}}
    if namespace is not None:
        m["namespace"] = namespace
    return m


def tolerations() -> list[dict[str, Any]]:
    """Every tenant's and every pool's taint (``Exists`` on the key: one toleration each, however
    many tenants), not the system nodes' ``CriticalAddonsOnly``: no tenant pod runs there."""
    return [{"key": TENANT_LABEL, "operator": "Exists", "effect": "NoSchedule"},
            {"key": POOL_LABEL, "operator": "Exists", "effect": "NoSchedule"}]


def network_policy(spec: PlatformSpec) -> Manifest:
    """The router's NetworkPolicy: no ingress; egress to CoreDNS (53) and to the interface
    endpoints (``logs``, ``sts``; 443) in the system subnets, plus the Pod Identity agent with
    ``identity.mode: podIdentity``. No path to any tenant pod."""
    egress: list[dict[str, Any]] = [
        {"to": [{"namespaceSelector": namespace_selector(KUBE_DNS_NAMESPACE),
                 "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)}}],
         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [{"ipBlock": {"cidr": str(n)}} for n in spec.address_plan.system_subnets()],
         "ports": [{"protocol": "TCP", "port": HTTPS_PORT}]},
    ]
    if spec.identity.mode == "podIdentity":
        egress.append({"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}],
                       "ports": [{"protocol": "TCP", "port": POD_IDENTITY_AGENT_PORT}]})
    return {"apiVersion": NETWORKING_API_VERSION, "kind": "NetworkPolicy",
            "metadata": _meta(ROUTER_NAME, spec.observability.logs.namespace),
            "spec": {"podSelector": {"matchLabels": dict(ROUTER_LABELS)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [], "egress": egress}}


def daemonset(spec: PlatformSpec, config_hash: str) -> Manifest:
    """The router DaemonSet: reads ``/var/log/pods`` read-only as root (the files are root's,
    0640) with every capability dropped and a read-only root filesystem."""
    logs = spec.observability.logs
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": _meta(ROUTER_NAME, logs.namespace),
        "spec": {
            "selector": {"matchLabels": dict(ROUTER_LABELS)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {
                "metadata": {"labels": dict(ROUTER_LABELS), "annotations": {CONFIG_HASH_ANNOTATION: config_hash}},
                "spec": {
                    "serviceAccountName": ROUTER_NAME,
                    "tolerations": tolerations(),
                    "priorityClassName": "system-node-critical",
                    "containers": [{
                        "name": "collector", "image": logs.image,
                        "args": ["--config=/etc/otelcol/config.yaml"],
                        "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}},
                        "securityContext": {"runAsUser": 0, "runAsNonRoot": False,
                                            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "pods", "mountPath": PODS_LOG_DIR, "readOnly": True},
                                         {"name": "config", "mountPath": "/etc/otelcol", "readOnly": True}],
                    }],
                    "volumes": [{"name": "pods", "hostPath": {"path": PODS_LOG_DIR, "type": "Directory"}},
                                {"name": "config", "configMap": {"name": ROUTER_NAME}}],
                },
            },
        },
    }


def manifests(spec: PlatformSpec, router_role_arn: str | None, config_text: str, config_hash: str) -> list[Manifest]:
    """Namespace, ServiceAccount (with the IRSA annotation in ``irsa`` mode), ConfigMap,
    NetworkPolicy and DaemonSet of the router. ``config_text`` is :func:`collector_config` as YAML."""
    ns = spec.observability.logs.namespace
    sa = _meta(ROUTER_NAME, ns)
    if spec.identity.mode == "irsa" and router_role_arn is not None:
        sa["annotations"] = {IRSA_ANNOTATION: router_role_arn}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": sa, "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(ROUTER_NAME, ns),
         "data": {"config.yaml": config_text}},
        network_policy(spec),
        daemonset(spec, config_hash),
    ]
