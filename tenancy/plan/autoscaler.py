"""The cluster-autoscaler's pure decisions: its image per Kubernetes minor, its IAM policy, the
Auto Scaling group tags it discovers and reads, its priority expander, and its Kubernetes objects.
No Pulumi imports.

Sources (kubernetes/autoscaler, read at the release tags named in :data:`IMAGE_TAGS`):

* ``cluster-autoscaler/cloudprovider/aws/README.md`` — the IAM policy ("Full Cluster Autoscaler
  Features Policy"), auto-discovery (``--node-group-auto-discovery=asg:tag=…``), the node-template
  tags for scaling a group from zero, and ``eks:DescribeNodegroup``, which the autoscaler calls
  "only … when a managed nodegroup is created with 0 nodes and has never had any nodes added to
  it" — so a group scaled back to zero is known to it only through the ASG's own tags.
* ``cluster-autoscaler/cloudprovider/aws/aws_manager.go`` (``buildNodeFromTemplate``,
  ``extractLabelsFromAsg``, ``extractTaintsFromAsg``) — the tag formats: label
  ``k8s.io/cluster-autoscaler/node-template/label/<key>`` = ``<value>``, taint
  ``k8s.io/cluster-autoscaler/node-template/taint/<key>`` = ``<value>:<Effect>``.
* ``cluster-autoscaler/cloudprovider/aws/examples/cluster-autoscaler-autodiscover.yaml`` — the
  ServiceAccount, ClusterRole, Role, bindings and Deployment this module renders (differences are
  noted at each object).
* ``cluster-autoscaler/expander/priority/readme.md`` — the ``cluster-autoscaler-priority-expander``
  ConfigMap: ``priorities`` maps an integer to regular expressions over node group (ASG) names;
  the highest priority with a matching group wins.

EKS managed node groups tag their Auto Scaling group with the two auto-discovery keys, but tags
given to the node group are NOT copied to the ASG (EKS user guide, managed-node-groups.adoc:
"Amazon EKS tags managed node group resources so that they are configured to use the Kubernetes
Cluster Autoscaler"; node group ``tags`` go to the node group resource only, not to its ASG or
instances — EKS API reference, CreateNodegroup ``tags``), so the platform tags each ASG itself
(:func:`asg_tags`).
"""

from __future__ import annotations

import re
from typing import Any

from tenancy.plan.cluster import SYSTEM_LABELS, system_node_group_name
from tenancy.spec import PlatformSpec, naming
from tenancy.spec.errors import Problem
from tenancy.spec.wire import IRSA_ANNOTATION, MANAGED_BY_LABEL, RBAC_API_VERSION, SYSTEM_TAINT_KEY

NAMESPACE = "kube-system"
NAME = "cluster-autoscaler"
SERVICE_ACCOUNT = (NAMESPACE, NAME)
PRIORITY_EXPANDER_CONFIGMAP = "cluster-autoscaler-priority-expander"
STATUS_CONFIGMAP = "cluster-autoscaler-status"
POD_LABELS = {"app.kubernetes.io/name": NAME}
METRICS_PORT = 8085

ENABLED_TAG = "k8s.io/cluster-autoscaler/enabled"
CLUSTER_TAG_PREFIX = "k8s.io/cluster-autoscaler/"
LABEL_TAG_PREFIX = "k8s.io/cluster-autoscaler/node-template/label/"
TAINT_TAG_PREFIX = "k8s.io/cluster-autoscaler/node-template/taint/"
OWNED = "owned"
"""The value EKS gives ``k8s.io/cluster-autoscaler/<cluster>`` on a managed node group's ASG."""

IMAGE_REPOSITORY = "registry.k8s.io/autoscaling/cluster-autoscaler"
IMAGE_TAGS: dict[str, str] = {
    "1.30": "v1.30.7",
    "1.31": "v1.31.5",
    "1.32": "v1.32.7",
    "1.33": "v1.33.6",
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
}
"""Kubernetes minor → cluster-autoscaler image tag: the newest ``cluster-autoscaler-1.<minor>.<patch>``
release tag of kubernetes/autoscaler for each minor (git tags, read 2026-12 from the repository
snapshot at 55c37cd; each release publishes ``registry.k8s.io/autoscaling/cluster-autoscaler:
v1.<minor>.<patch>``). The autoscaler's README: "We recommend using Cluster Autoscaler with the
Kubernetes control plane … version for which it was meant" (cluster-autoscaler/README.md,
"Releases": "versioning scheme was changed to match Kubernetes minor releases exactly"). A supported
Kubernetes version without a row is refused by :func:`problems`."""

EXPANDER = "priority,least-waste"
"""The priority expander first (tiers, :func:`group_priorities`), least-waste among groups of equal
priority (expanders chain since 1.23: cluster-autoscaler/FAQ.md, "What are expanders?")."""

PRIORITY_SYSTEM, PRIORITY_PREMIUM, PRIORITY_STANDARD, PRIORITY_ANY = 30, 20, 10, 1
"""The expander's priorities: the system node group (CoreDNS, add-ons) first, then every group
hosting a ``premium`` tenant, then the rest; a catch-all ``.*`` last, because "if a group name
doesn't match any of the regular expressions in the priority list it will not be considered for
expansion" (expander/priority/readme.md): a group whose ASG name ever differs from
:func:`asg_name_pattern` still scales, only without its tier's precedence. The autoscaler grows one option per loop (the
expander picks it among the groups that could help some pending pod), so when pods of several
groups wait at once, premium tenants' nodes come first."""


def enabled(spec: PlatformSpec) -> bool:
    return spec.cluster.autoscaler == "clusterAutoscaler"


def image(kubernetes_version: str) -> str:
    """The pinned image for ``kubernetes_version`` (``1.33``); ``KeyError`` without a row."""
    return f"{IMAGE_REPOSITORY}:{IMAGE_TAGS[kubernetes_version]}"


def problems(spec: PlatformSpec) -> list[Problem]:
    """An autoscaler needs an image made for the cluster's minor, and a cluster name that is not
    the ``enabled`` key of auto-discovery (run by ``load_platform``)."""
    if not enabled(spec):
        return []
    out = []
    if cluster_tag(naming.cluster_name(spec.name)) == ENABLED_TAG:
        out.append(Problem("name", (
            f"a cluster called {spec.name!r} gets the auto-discovery tag {ENABLED_TAG} as its own cluster tag, so "
            f"its groups could not be told from any other cluster's and the autoscaler's role could never scale "
            f"them (the tag cannot be both 'true' and 'owned'); rename the platform, or set cluster.autoscaler: none")))
    if spec.kubernetes_version in IMAGE_TAGS:
        return out
    pinned = ", ".join(sorted(IMAGE_TAGS))
    return [*out, Problem("cluster.autoscaler", (
        f"no cluster-autoscaler image is pinned for Kubernetes {spec.kubernetes_version} (pinned: {pinned}; "
        f"tenancy.plan.autoscaler.IMAGE_TAGS); use a kubernetesVersion with a pinned image, or set "
        f"cluster.autoscaler: none until this release of tenancy pins one"))]


def role_name(platform: str) -> str:
    return f"{platform}_cluster-autoscaler"


def cluster_tag(cluster_name: str) -> str:
    return f"{CLUSTER_TAG_PREFIX}{cluster_name}"


# --------------------------------------------------------------------------------------------
# IAM


def iam_policy(partition: str, region: str, account_id: str, cluster_name: str) -> dict[str, Any]:
    """The autoscaler's permissions: the reads of the README's "Full Cluster Autoscaler Features
    Policy", ``eks:DescribeNodegroup`` only on this cluster's node groups, and the two writes only
    on Auto Scaling groups tagged for THIS cluster (``aws:ResourceTag/k8s.io/cluster-autoscaler/
    <cluster>`` = ``owned`` and the ``enabled`` tag; Amazon EC2 Auto Scaling user guide,
    control-access-using-iam.adoc, "Control access with tags") in this account and Region."""
    asg_arn = f"arn:{partition}:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Discover",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ManagedNodeGroupsOfThisCluster",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*",
            },
            {
                "Sid": "ScaleOnlyThisClustersGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": asg_arn,
                "Condition": {"StringEquals": {
                    f"aws:ResourceTag/{cluster_tag(cluster_name)}": OWNED,
                    f"aws:ResourceTag/{ENABLED_TAG}": "true",
                }},
            },
        ],
    }


# --------------------------------------------------------------------------------------------
# Auto Scaling group tags


_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def asg_tags(cluster_name: str, labels: dict[str, str], taints: list[dict[str, str]]) -> dict[str, str]:
    """The tags one node group's ASG needs: the two auto-discovery keys (with EKS's own values)
    and, for scaling from zero, a node-template tag per label and per taint (EKS API casing
    ``NO_SCHEDULE`` → Kubernetes ``NoSchedule``)."""
    out = {ENABLED_TAG: "true", cluster_tag(cluster_name): OWNED}
    out.update({f"{LABEL_TAG_PREFIX}{k}": v for k, v in sorted(labels.items())})
    for t in taints:
        out[f"{TAINT_TAG_PREFIX}{t['key']}"] = f"{t.get('value', '')}:{_EFFECTS.get(t['effect'], t['effect'])}"
    return out


def asg_tag_key(tag: str) -> str:
    """A Pulumi name part for one tag key of :func:`asg_tags`, by its role (``enabled``,
    ``cluster``, ``label-<key>``, ``taint-<key>``; ``/`` and ``.`` become ``-``), so that no
    platform name can make two of them equal."""
    for prefix, role in ((LABEL_TAG_PREFIX, "label-"), (TAINT_TAG_PREFIX, "taint-")):
        if tag.startswith(prefix):
            return role + re.sub(r"[^A-Za-z0-9-]+", "-", tag.removeprefix(prefix)).strip("-")
    return "enabled" if tag == ENABLED_TAG else "cluster"


# --------------------------------------------------------------------------------------------
# The priority expander


def asg_name_pattern(node_group_name: str) -> str:
    """A regular expression for the ASG of the managed node group created from the name prefix of
    ``node_group_name``: EKS names it ``eks-<node group name>-<node group uuid>``, and the node group
    name is the prefix plus terraform-provider-aws's 26-character unique suffix
    (:func:`tenancy.spec.naming.node_group_name_prefix`). Anchored at both ends, so tenant ``a``'s
    pattern never matches tenant ``a-b``'s group."""
    # Escape only what is special to Go's RE2 (the autoscaler compiles these with regexp.Compile).
    prefix = re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", naming.node_group_name_prefix(node_group_name))
    return f"^eks-{prefix}[0-9a-f]{{26}}-[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}$"


def group_priorities(spec: PlatformSpec, system_node_group: str) -> dict[int, list[str]]:
    """``{priority: [ASG name pattern, …]}``: the system group, then groups hosting a premium
    tenant (a dedicated premium tenant's, a pool with a premium tenant), then the rest. Tenants
    being off-boarded have no group. One pass over the tenants."""
    out: dict[int, list[str]] = {PRIORITY_SYSTEM: [asg_name_pattern(system_node_group)],
                                 PRIORITY_PREMIUM: [], PRIORITY_STANDARD: []}
    premium_pools: set[str] = set()
    for t in spec.tenants:
        if t.pool is not None:
            if t.tier == "premium":
                premium_pools.add(t.pool)
        elif t.nodes is not None and not t.offboarding:
            level = PRIORITY_PREMIUM if t.tier == "premium" else PRIORITY_STANDARD
            out[level].append(asg_name_pattern(naming.node_group_name(spec.name, t.name)))
    for pool in spec.node_pools:
        level = PRIORITY_PREMIUM if pool.name in premium_pools else PRIORITY_STANDARD
        out[level].append(asg_name_pattern(naming.pool_node_group_name(spec.name, pool.name)))
    out[PRIORITY_ANY] = [".*"]
    return {k: v for k, v in out.items() if v}


def _priorities_yaml(priorities: dict[int, list[str]]) -> str:
    """The ConfigMap's ``priorities`` value, as the expander's readme writes it (YAML; each
    pattern single-quoted)."""
    lines = []
    for level in sorted(priorities, reverse=True):
        lines.append(f"{level}:")
        lines += [f"  - '{p}'" for p in priorities[level]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Kubernetes objects


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "labels": {MANAGED_BY_LABEL: naming.MANAGED_BY, **POD_LABELS}}
    if namespace is not None:
        out["namespace"] = namespace
    return out


def _rule(groups: list[str], resources: list[str], verbs: list[str],
          names: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        out["resourceNames"] = names
    return out


CLUSTER_RULES: list[dict[str, Any]] = [
    _rule([""], ["events"], ["create", "patch"]),
    _rule([""], ["pods/eviction"], ["create"]),
    _rule([""], ["pods/status"], ["update"]),
    _rule([""], ["nodes"], ["watch", "list", "get", "update"]),
    _rule([""], ["namespaces", "pods", "services", "replicationcontrollers", "persistentvolumeclaims",
                 "persistentvolumes"], ["watch", "list", "get"]),
    _rule(["policy"], ["poddisruptionbudgets"], ["watch", "list"]),
    _rule(["apps"], ["statefulsets", "replicasets", "daemonsets"], ["watch", "list", "get"]),
    _rule(["storage.k8s.io"], ["storageclasses", "csinodes", "csidrivers", "csistoragecapacities",
                               "volumeattachments"], ["watch", "list", "get"]),
    _rule(["batch"], ["jobs"], ["get", "list", "watch", "patch"]),
]
"""The example's ClusterRole less what this deployment never uses: the ``extensions`` group (no
longer served), ``endpoints`` (the old leader-election lock) and ``leases`` (the lease lives in
kube-system: the Role below)."""

NAMESPACE_RULES: list[dict[str, Any]] = [
    _rule([""], ["configmaps"], ["create", "list", "watch"]),
    _rule([""], ["configmaps"], ["delete", "get", "update", "watch"], [STATUS_CONFIGMAP, PRIORITY_EXPANDER_CONFIGMAP]),
    _rule(["coordination.k8s.io"], ["leases"], ["create"]),
    _rule(["coordination.k8s.io"], ["leases"], ["get", "update"], [NAME]),
]
"""The example's Role (kube-system ConfigMaps: its status and the priority expander's) and its
leader-election lease (``--leader-elect`` is on by default; ``cluster-autoscaler/main.go``,
``leaderElectionConfiguration``: a ``leases`` lock named ``cluster-autoscaler`` in ``--namespace``),
which the example grants cluster-wide."""


def command(cluster_name: str) -> list[str]:
    """The container's command: auto-discovery of this cluster's groups, the expander chain, and
    the example's flags."""
    return [
        "./cluster-autoscaler",
        "--cloud-provider=aws",
        f"--namespace={NAMESPACE}",
        f"--node-group-auto-discovery=asg:tag={ENABLED_TAG},{cluster_tag(cluster_name)}",
        f"--expander={EXPANDER}",
        "--skip-nodes-with-local-storage=false",
        "--stderrthreshold=info",
        "--v=2",
    ]


def manifests(spec: PlatformSpec, region: str, role_arn: str | None) -> list[dict[str, Any]]:
    """The ServiceAccount (with the IRSA annotation when ``role_arn`` is given), ClusterRole, Role,
    their bindings, the priority expander's ConfigMap and the Deployment, in apply order.

    The Deployment runs on the system nodes (nodeSelector ``tenancy/pool=system``, tolerating
    ``CriticalAddonsOnly``), as ``system-cluster-critical``, non-root with a read-only root file
    system and no capabilities (Pod Security ``restricted``), with ``AWS_REGION`` set: the
    nodes' IMDS hop limit of 1 keeps pods from the instance metadata the SDK would otherwise
    ask for the Region."""
    cname = naming.cluster_name(spec.name)
    sa_meta = _meta(NAME, NAMESPACE)
    if role_arn is not None:
        sa_meta["annotations"] = {IRSA_ANNOTATION: role_arn}
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    pod_spec: dict[str, Any] = {
        "serviceAccountName": NAME,
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": dict(SYSTEM_LABELS),
        "tolerations": [{"key": SYSTEM_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": NAME,
            "image": image(spec.kubernetes_version),
            "imagePullPolicy": "IfNotPresent",
            "command": command(cname),
            "env": [{"name": "AWS_REGION", "value": region}],
            "ports": [{"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "600Mi"},
                          "limits": {"cpu": "100m", "memory": "600Mi"}},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"}},
        }],
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": sa_meta},
        {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": _meta(NAME), "rules": CLUSTER_RULES},
        {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRoleBinding", "metadata": _meta(NAME),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
         "subjects": subject},
        {"apiVersion": RBAC_API_VERSION, "kind": "Role", "metadata": _meta(NAME, NAMESPACE),
         "rules": NAMESPACE_RULES},
        {"apiVersion": RBAC_API_VERSION, "kind": "RoleBinding", "metadata": _meta(NAME, NAMESPACE),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
         "subjects": subject},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(PRIORITY_EXPANDER_CONFIGMAP, NAMESPACE),
         "data": {"priorities": _priorities_yaml(group_priorities(
             spec, system_node_group_name(spec.name)))}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(NAME, NAMESPACE),
         "spec": {"replicas": 1, "selector": {"matchLabels": dict(POD_LABELS)},
                  "template": {"metadata": {"labels": dict(POD_LABELS)}, "spec": pod_spec}}},
    ]
