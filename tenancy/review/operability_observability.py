"""Operability of observability, registered into :mod:`tenancy.review.operability` (its
``EXTENSIONS``): what the Container Insights agent and AWS Backup need to work, read from the
RENDERED resources.

* The ``amazon-cloudwatch-observability`` add-on has an identity of its own, tolerates the taints
  of EVERY node group (system, dedicated tenants, pools: a DaemonSet that does not tolerate a
  taint leaves those nodes without metrics), and does not ship container logs to its one shared
  group (``/aws/containerinsights/<cluster>/application`` would mix tenants).
* Its agent runs on the host network (aws-observability/helm-charts,
  ``charts/amazon-cloudwatch-observability``: ``hostNetwork: true``), so NetworkPolicies do not
  select it; its paths are the nodes' security groups: every node group → the ``monitoring`` and
  ``logs`` interface endpoints on tcp/443 (CloudWatch user guide, ``cloudwatch-and-interface-VPC``:
  ``com.amazonaws.<region>.monitoring``; ``cloudwatch-logs-and-interface-VPC``: ``…logs``).
* AWS Backup: a vault with a customer managed key, a plan, a selection naming the cluster, and a
  role only ``backup.amazonaws.com`` may assume (EKS user guide ``integration-backup``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tenancy.plan import network as netplan
from tenancy.plan import observability as oplan
from tenancy.review.operability import Machines, Rendered, Status, check, flow_result
from tenancy.spec.wire import AWS_BACKUP_PLAN, AWS_BACKUP_SELECTION, AWS_BACKUP_VAULT, AWS_EKS_CLUSTER
from tenancy.spec.wire import AWS_VPC_ENDPOINT as VPC_ENDPOINT

_EFFECT = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
_CHART = "aws-observability/helm-charts charts/amazon-cloudwatch-observability (values.yaml, AmazonCloudWatchAgent)"


def tolerates(tolerations: list[Mapping[str, Any]], key: str, value: str | None, effect: str) -> bool:
    """Kubernetes toleration semantics (core/v1 Toleration): empty key + Exists tolerates all."""
    for t in tolerations:
        if t.get("effect") not in (None, "", effect):
            continue
        op = t.get("operator", "Equal")
        if op == "Exists" and not t.get("key"):
            return True
        if t.get("key") == key and (op == "Exists" or t.get("value") == value):
            return True
    return False


def untolerated(r: Rendered, tolerations: list[Mapping[str, Any]]) -> list[str]:
    """``node group: key=value:Effect`` for every rendered node-group taint the tolerations miss."""
    out = []
    for ng in r.node_groups():
        for t in ng["inputs"].get("taints") or []:
            effect = _EFFECT.get(t["effect"], t["effect"])
            if not tolerates(tolerations, t["key"], t.get("value"), effect):
                out.append(f"{ng['name']}: {t['key']}={t.get('value')}:{effect}")
    return out


@check("observability.metrics → CloudWatch agent add-on (own role, tolerates every node group, no shared log group)",
       "prerequisite", _CHART + "; CloudWatch user guide install-CloudWatch-Observability-EKS-addon")
def _agent(r: Rendered) -> tuple[Status, str]:
    if not oplan.metrics_enabled(r.spec):
        return "n/a", "observability.metrics is off"
    addon = r.addon(oplan.ADDON)
    if addon is None:
        return "missing", f"no {oplan.ADDON} add-on"
    i = addon["inputs"]
    if not (i.get("serviceAccountRoleArn") or i.get("podIdentityAssociations")):
        return "missing", "the agent has no identity of its own (it would use the node role)"
    config = json.loads(str(i.get("configurationValues") or "{}"))
    missed = untolerated(r, config.get("tolerations") or [])
    if missed:
        return "missing", "the agent DaemonSet does not tolerate " + ", ".join(missed[:5])
    if (config.get("containerLogs") or {}).get("enabled", True):
        return "missing", "container logs go to the add-on's one shared group: set containerLogs.enabled false"
    return "ok", f"own {r.spec.identity.mode} role; tolerates the taints of {len(r.node_groups())} node group(s)"


def endpoint_machines(r: Rendered, service: str) -> Machines | None:
    """The ENIs of the interface endpoint of ``service`` (``monitoring``, ``logs``)."""
    eps = [e for e in r.of_type(VPC_ENDPOINT) if str(e["inputs"].get("serviceName", "")).endswith("." + service)]
    if not eps:
        return None
    groups = frozenset(g for e in eps for g in e["inputs"].get("securityGroupIds") or [])
    subnets = [s for e in eps for s in e["inputs"].get("subnetIds") or []]
    return Machines(f"{service} endpoint", groups, r._subnet_cidrs(subnets))


@check("CloudWatch agent (host network) on every node → monitoring and logs endpoints (tcp/443)", "flow",
       _CHART + " (hostNetwork: true: node security groups, no NetworkPolicy); CloudWatch user guide "
       "cloudwatch-and-interface-VPC, cloudwatch-logs-and-interface-VPC")
def _agent_flows(r: Rendered) -> tuple[Status, str]:
    if not oplan.metrics_enabled(r.spec):
        return "n/a", "observability.metrics is off"
    bad = []
    for service in (netplan.METRICS_ENDPOINT, "logs"):
        ep = endpoint_machines(r, service)
        if ep is None:
            bad.append(f"no {service} interface endpoint")
            continue
        status, detail = flow_result(r, ((r.node_machines(n), ep) for n in r.node_groups()), "tcp",
                                     netplan.HTTPS_PORT)
        if status != "ok":
            bad.append(f"{service}: {detail}")
    if bad:
        return "missing", "; ".join(bad)
    return "ok", f"{len(r.node_groups())} node group(s) reach the monitoring and logs endpoints on 443"


@check("observability.backup → KMS-encrypted vault, plan, selection of the cluster, role for AWS Backup only",
       "prerequisite", "EKS user guide integration-backup; AWS Backup developer guide eks-backups, restoring-eks")
def _backup(r: Rendered) -> tuple[Status, str]:
    if not oplan.backup_enabled(r.spec):
        return "n/a", "observability.backup is off"
    vaults, plans, selections = r.of_type(AWS_BACKUP_VAULT), r.of_type(AWS_BACKUP_PLAN), r.of_type(AWS_BACKUP_SELECTION)
    if not (vaults and plans and selections):
        return "missing", "a vault, a plan and a selection are needed"
    if not all(v["inputs"].get("kmsKeyArn") for v in vaults):
        return "missing", "the vault has no customer managed KMS key"
    cluster = next(iter(r.of_type(AWS_EKS_CLUSTER)), None)
    arn = str(((cluster or {}).get("outputs") or {}).get("arn") or "")
    chosen = [str(x) for s in selections for x in s["inputs"].get("resources") or []]
    if arn and arn not in chosen:
        return "missing", f"the selection {chosen} does not name the cluster {arn}"
    return "ok", f"cluster selected; {plans[0]['inputs']['rules'][0]['schedule']}"
