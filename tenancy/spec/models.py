"""The platform spec: one typed description of the platform, read from the ``tenancy:platform``
object of a Pulumi stack config.

Every optional field carries its secure default here, next to its documentation. Keys are
camelCase as in Pulumi stack files (``vpcCidr``); in Python both ``vpc_cidr`` and ``vpcCidr``
are accepted.

The models check each field and what one model can see; the checks across the whole platform
(unique slots, quotas, capacity, the previous render) run in :func:`tenancy.plan.validate.load_platform`
(``tenancy.load_platform``), the only entry point that should be used on untrusted input.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from tenancy.spec import naming
from tenancy.spec.addressing import DEFAULT_TENANT_BLOCK_PREFIX, MIN_VPC_PREFIX, AddressPlan
from tenancy.spec.versions import CALENDAR_SOURCE, LATEST, SUPPORTED_KUBERNETES_VERSIONS

# --------------------------------------------------------------------------------------------
# Scalar types

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes resource.Quantity, non-negative (k8s.io/apimachinery/pkg/api/resource).
_QUANTITY = re.compile(
    r"^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_IAM_PRINCIPAL_ARN = re.compile(r"^arn:aws(-[a-z]+)*:(iam|sts)::\d{12}:(role|user|assumed-role)/[\w+=,.@/-]+$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                             1096, 1827, 2192, 2557, 2922, 3288, 3653)


def _dns_label(max_len: int):
    def check(value: str) -> str:
        if not _DNS1123_LABEL.match(value):
            raise ValueError(
                f"{value!r} is not a DNS-1123 label: use lower-case letters, digits and '-', "
                "starting and ending with a letter or digit"
            )
        if len(value) > max_len:
            raise ValueError(f"{value!r} is {len(value)} characters; at most {max_len} are allowed here")
        return value

    return check


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes quantity: write e.g. '500m' or '2' for CPU, '512Mi' or '16Gi' for memory"
        )
    return value


def _to_str(value: Any) -> Any:
    # YAML reads `cpu: 8` as an int; a quantity is a string to Kubernetes.
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _unquoted_version(value: Any) -> Any:
    # YAML reads `kubernetesVersion: 1.30` as the float 1.3.
    if isinstance(value, float):
        raise ValueError(f"{value!r} is a number (YAML reads an unquoted 1.30 as 1.3); quote the version: "
                         f'kubernetesVersion: "{value:.2f}"')
    return value


def _kubernetes_version(value: str) -> str:
    if value not in SUPPORTED_KUBERNETES_VERSIONS:
        supported = ", ".join(SUPPORTED_KUBERNETES_VERSIONS)
        raise ValueError(f"Kubernetes {value!r} is not supported; use one of {supported} "
                         "(1.30 is the first with ValidatingAdmissionPolicy GA, which placement enforcement needs; "
                         f"the newest is the newest in EKS's release calendar: {CALENDAR_SOURCE})")
    return value


def _principal_arn(value: str) -> str:
    if not _IAM_PRINCIPAL_ARN.match(value):
        raise ValueError(
            f"{value!r} is not an IAM role or user ARN (arn:aws:iam::<account>:role/<name> or :user/<name>)"
        )
    if ":assumed-role/" in value:
        # EKS access entries take IAM roles and users, not STS sessions.
        role = value.split(":assumed-role/", 1)[1].split("/", 1)[0]
        account = value.split(":")[4]
        raise ValueError(
            f"{value!r} is an STS session, which EKS access entries do not accept; use the role's ARN "
            f"arn:aws:iam::{account}:role/{role} (with its path, if it has one)"
        )
    return value


def _instance_type(value: str) -> str:
    if not _INSTANCE_TYPE.match(value):
        raise ValueError(f"{value!r} is not an EC2 instance type (e.g. m6i.large)")
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block ({exc}); write e.g. 203.0.113.0/24") from None
    return value


def _retention(value: int) -> int:
    if value not in CLOUDWATCH_RETENTION_DAYS:
        nearest = min(CLOUDWATCH_RETENTION_DAYS, key=lambda d: abs(d - value))
        raise ValueError(f"CloudWatch Logs cannot keep logs {value} days; use one of its values, e.g. {nearest}")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label(63))]
TenantName = Annotated[str, AfterValidator(_dns_label(naming.K8S_LABEL_MAX))]
PoolName = Annotated[str, AfterValidator(_dns_label(naming.K8S_LABEL_MAX))]
PlatformName = Annotated[str, AfterValidator(_dns_label(naming.PLATFORM_NAME_MAX))]
Quantity = Annotated[str, BeforeValidator(_to_str), AfterValidator(_quantity)]
PrincipalArn = Annotated[str, AfterValidator(_principal_arn)]
InstanceType = Annotated[str, AfterValidator(_instance_type)]
Cidr = Annotated[str, AfterValidator(_cidr)]
RetentionDays = Annotated[StrictInt, AfterValidator(_retention)]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True,
        use_attribute_docstrings=True,
    )


# --------------------------------------------------------------------------------------------
# Tenant


class NodesSpec(_Model):
    """A managed node group's instances and scaling."""

    instance_types: list[InstanceType] = Field(default_factory=lambda: ["m6i.large"], min_length=1)
    """EC2 instance types. Default ``[m6i.large]``."""
    min_size: StrictInt = Field(1, ge=0, le=450)
    """Fewest nodes. Default 1."""
    max_size: StrictInt = Field(3, ge=1, le=450)
    """At most 450: EKS's default quota of nodes per managed node group."""
    desired_size: StrictInt = Field(1, ge=0, le=450)
    """Nodes at creation (the autoscaler moves it later). Default 1."""
    disk_size_gib: StrictInt = Field(50, ge=20, le=16384)
    """Encrypted gp3 root volume size. Default 50 GiB."""
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    """`ON_DEMAND` (default) or `SPOT` (cheaper, interruptible)."""
    ami_type: Literal["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD", "BOTTLEROCKET_x86_64",
                      "BOTTLEROCKET_ARM_64"] = "AL2023_x86_64_STANDARD"
    """AMI family. VPC CNI network policies need EC2 Linux nodes: all of these qualify."""

    @model_validator(mode="after")
    def _sizes(self) -> NodesSpec:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"sizes must satisfy minSize <= desiredSize <= maxSize, got {self.min_size} <= "
                f"{self.desired_size} <= {self.max_size}; adjust them"
            )
        return self


class ObjectCountsSpec(_Model):
    """Objects of each kind the namespace may hold (``count/<resource>`` in its ResourceQuota).

    Every object lives in the cluster's etcd, which EKS caps at 8 GiB; once it is full the API
    server refuses writes for every tenant. Without a count a tenant (or a runaway CronJob, a
    controller stuck in a loop) could fill it alone. The defaults leave room for a dozen
    Deployments with their kept ReplicaSets and Helm's release Secrets; raise one where a tenant
    needs more."""

    secrets: StrictInt = Field(50, ge=1)
    """Secrets (each up to 1 MiB). Default 50."""
    config_maps: StrictInt = Field(50, ge=1)
    """ConfigMaps (each up to 1 MiB; the namespace's ``kube-root-ca.crt`` is one). Default 50."""
    deployments: StrictInt = Field(30, ge=0)
    """Deployments. Default 30."""
    replica_sets: StrictInt = Field(200, ge=0)
    """ReplicaSets (a Deployment keeps ``revisionHistoryLimit``, default 10, old ones). Default 200."""
    stateful_sets: StrictInt = Field(20, ge=0)
    """StatefulSets. Default 20."""
    jobs: StrictInt = Field(50, ge=0)
    """Jobs (finished ones count until deleted: set ``ttlSecondsAfterFinished``). Default 50."""
    cron_jobs: StrictInt = Field(20, ge=0)
    """CronJobs. Default 20."""
    leases: StrictInt = Field(20, ge=0)
    """Leases (leader election). Default 20."""
    ingresses: StrictInt = Field(20, ge=0)
    """Ingresses. Default 20."""
    horizontal_pod_autoscalers: StrictInt = Field(20, ge=0)
    """HorizontalPodAutoscalers. Default 20."""
    pod_disruption_budgets: StrictInt = Field(20, ge=0)
    """PodDisruptionBudgets. Default 20."""


class QuotaSpec(_Model):
    """The tenant namespace's ResourceQuota (against noisy neighbours). ``cpu`` and ``memory``
    cap both the requests and the limits of all pods together."""

    cpu: Quantity = "4"
    """CPU for all pods together (requests and limits). Default 4. At least
    ``limits.maxPerContainer.cpu``: a smaller quota would refuse containers the LimitRange admits."""
    memory: Quantity = "8Gi"
    """Memory for all pods together (requests and limits). Default 8Gi. At least
    ``limits.maxPerContainer.memory``, likewise."""
    pods: StrictInt = Field(50, ge=1)
    """Pods at most. Default 50 (10 for a tenant on a shared pool: each of its pods takes one of
    the pool's branch network interfaces). Each pod also takes a VPC address from the tenant's (or
    the pool's) subnets."""
    services: StrictInt = Field(20, ge=0)
    """Services at most. Default 20."""
    persistent_volume_claims: StrictInt = Field(10, ge=0)
    """PersistentVolumeClaims at most. Default 10."""
    storage: Quantity = "100Gi"
    """Total storage requested by the namespace's PVCs."""
    load_balancers: StrictInt = Field(0, ge=0)
    """Services of type LoadBalancer. Default 0: exposure goes through the platform's ingress."""
    node_ports: StrictInt = Field(0, ge=0)
    """Services of type NodePort. Default 0: a NodePort opens every node, other tenants' too."""
    ephemeral_storage: Quantity = "8Gi"
    """Local disk (``emptyDir``, container logs and writable layers) for all pods together,
    requests and limits alike. Default 8Gi (3Gi for a tenant on a shared pool: its requests count
    against the pool's node disks, the capacity preflight)."""
    objects: ObjectCountsSpec = ObjectCountsSpec()
    """Objects per kind (``count/<resource>``), against a tenant filling the cluster's etcd."""


class ResourcePair(_Model):
    cpu: Quantity
    """CPU quantity, e.g. `500m`."""
    memory: Quantity
    """Memory quantity, e.g. `512Mi`."""


_QUANTITY_SUFFIX: dict[str, int | Decimal] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}


def quantity_value(value: str) -> Decimal:
    """The number a Kubernetes quantity stands for (``500m`` -> 0.5, ``1Gi`` -> 1073741824)."""
    m = re.fullmatch(r"\+?([0-9.]+)([eE][+-]?[0-9.]+|[KMGTPE]i|[numkMGTPE])?", value)
    if not m:
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    number, suffix = Decimal(m.group(1)), m.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** Decimal(suffix[1:])
    return number * Decimal(_QUANTITY_SUFFIX[suffix])


def split_quantity(value: str, parts: int, unit: Decimal = Decimal(1)) -> list[str]:
    """``value`` (a Kubernetes quantity) cut into ``parts`` shares of whole ``unit`` s (``0.001``:
    milli-units for CPU; ``1``: bytes), the remainder going one unit each to the first shares, so
    the shares add up to at most ``value`` and differ by at most one unit. One part: ``[value]``
    unchanged. A tenant's quota split across its namespaces (:meth:`TenantSpec.namespace_quota`)."""
    if parts == 1:
        return [value]
    units = int(quantity_value(value) / unit)  # floor: never more than the whole
    base, rest = divmod(units, parts)
    return [_quantity_text(base + (1 if i < rest else 0), unit < 1) for i in range(parts)]


def _quantity_text(units: int, milli: bool) -> str:
    """``units`` milli-units (``milli``) or bytes as a quantity: ``2``, ``1500m``, ``4Gi``, ``1234``."""
    if milli:
        return str(units // 1000) if units % 1000 == 0 else f"{units}m"
    for suffix, size in (("Gi", 1024 ** 3), ("Mi", 1024 ** 2), ("Ki", 1024)):
        if units and units % size == 0:
            return f"{units // size}{suffix}"
    return str(units)


def _times(value: str, n: int) -> str:
    """Quantity ``value`` times ``n``, written in ``value``'s own suffix (``4Gi`` x 3 -> ``12Gi``)."""
    m = re.fullmatch(r"\+?([0-9.]+)(.*)", value)
    return f"{Decimal(m.group(1)) * n}{m.group(2)}" if m else f"{n} x {value}"


def split_count(total: int, parts: int) -> list[int]:
    """``total`` cut into ``parts`` whole shares adding up to exactly ``total``, the remainder one
    each to the first shares."""
    base, rest = divmod(total, parts)
    return [base + (1 if i < rest else 0) for i in range(parts)]


class EphemeralStorageLimits(_Model):
    """Local disk (``ephemeral-storage``) per container in the LimitRange: the kubelet evicts a pod
    whose container writes past its limit, before the node's disk fills for its neighbours."""

    default_request: Quantity = "64Mi"
    """Request given to containers that declare none. Default 64Mi."""
    default_limit: Quantity = "256Mi"
    """Limit given to containers that declare none (the kubelet's log rotation keeps a container's
    logs under 50Mi). Default 256Mi."""
    max_per_container: Quantity = "2Gi"
    """The largest limit one container may ask for. Default 2Gi."""

    @model_validator(mode="after")
    def _ordered(self) -> EphemeralStorageLimits:
        req, lim, top = (quantity_value(q) for q in (self.default_request, self.default_limit, self.max_per_container))
        if not req <= lim <= top:
            raise ValueError(f"ephemeralStorage must satisfy defaultRequest <= defaultLimit <= maxPerContainer, got "
                             f"{self.default_request} <= {self.default_limit} <= {self.max_per_container}: Kubernetes "
                             "would reject this LimitRange; adjust them")
        return self


class LimitsSpec(_Model):
    """The tenant namespace's LimitRange for containers (defaultRequest <= defaultLimit <= maxPerContainer)."""

    default_request: ResourcePair = ResourcePair(cpu="100m", memory="128Mi")
    """Requests given to containers that declare none. Default 100m CPU, 128Mi memory."""
    default_limit: ResourcePair = ResourcePair(cpu="500m", memory="512Mi")
    """Limits given to containers that declare none (the quota caps limits, so every container
    needs one). Default 500m CPU, 512Mi memory."""
    max_per_container: ResourcePair = ResourcePair(cpu="2", memory="4Gi")
    """The largest limit one container may ask for. Default 2 CPUs, 4Gi memory. At most the
    tenant's ``quota.cpu`` / ``quota.memory`` (lower it with a small quota)."""
    ephemeral_storage: EphemeralStorageLimits = EphemeralStorageLimits()
    """Local disk per container: default request and limit, and the largest limit."""

    @model_validator(mode="after")
    def _ordered(self) -> LimitsSpec:
        bad = []
        for res in ("cpu", "memory"):
            req, lim, top = (quantity_value(getattr(p, res)) for p in
                             (self.default_request, self.default_limit, self.max_per_container))
            if req > lim:
                bad.append(f"defaultRequest.{res} {getattr(self.default_request, res)} is above "
                           f"defaultLimit.{res} {getattr(self.default_limit, res)}")
            if lim > top:
                bad.append(f"defaultLimit.{res} {getattr(self.default_limit, res)} is above "
                           f"maxPerContainer.{res} {getattr(self.max_per_container, res)}")
        if bad:
            raise ValueError("; ".join(bad) + ": Kubernetes would reject this LimitRange; make "
                             "defaultRequest <= defaultLimit <= maxPerContainer")
        return self


PortProtocol = Literal["TCP", "UDP", "SCTP"]
"""The protocols a NetworkPolicy port may name (Kubernetes ``NetworkPolicyPort.protocol``)."""


def _port_number(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a port; use a number from 1 to 65535")
    return value


PortNumber = Annotated[StrictInt, AfterValidator(_port_number)]


class EdgePort(_Model):
    """One port (or range of ports) an ``allowFrom`` edge opens, as a NetworkPolicy port: the
    security group rule and the NetworkPolicy of the edge open exactly this."""

    port: PortNumber
    """The destination port on the tenant that declares the edge (1-65535)."""
    protocol: PortProtocol = "TCP"
    """``TCP``, ``UDP`` or ``SCTP``. Default ``TCP``. Security groups cannot narrow SCTP to
    ports (AWS opens every port of a protocol other than TCP, UDP and ICMP), so an SCTP entry
    opens all SCTP on the security groups; the NetworkPolicy still narrows it."""
    end_port: PortNumber | None = None
    """With ``port``, a range ``port``-``endPort`` (inclusive; ``endPort >= port``). Default: the
    one port."""

    @model_validator(mode="after")
    def _range(self) -> EdgePort:
        if self.end_port is not None and self.end_port < self.port:
            raise ValueError(f"endPort {self.end_port} is below port {self.port}: a range runs from port up to "
                             f"endPort; swap them, or leave endPort out for the one port")
        return self

    @property
    def last(self) -> int:
        """The last port of the entry (``endPort``, else ``port``)."""
        return self.end_port if self.end_port is not None else self.port

    def overlaps(self, other: EdgePort) -> bool:
        return self.protocol == other.protocol and self.port <= other.last and other.port <= self.last

    def __str__(self) -> str:
        return f"{self.protocol} {self.port}" + (f"-{self.end_port}" if self.end_port is not None else "")


class AllowFrom(_Model):
    """One ``allowFrom`` edge: the tenant whose pods may open connections into this one, and on
    which ports. In YAML either a tenant's name (every protocol and port) or
    ``{tenant: <name>, ports: [{port, protocol, endPort}]}``."""

    tenant: TenantName
    """The tenant allowed in (the peer)."""
    ports: list[EdgePort] | None = None
    """The ports the peer may reach. Default: every protocol and port (what a bare name means).
    Entries of one protocol must not overlap (merge them into one range)."""

    @model_validator(mode="after")
    def _ports(self) -> AllowFrom:
        if self.ports is not None and not self.ports:
            raise ValueError("ports is empty, which would open nothing; list at least one port, or leave ports "
                             "out to allow every port (or remove the edge)")
        for j, a in enumerate(self.ports or []):
            for k, b in enumerate((self.ports or [])[:j]):
                if a.overlaps(b):
                    raise ValueError(f"ports[{j}] ({a}) overlaps ports[{k}] ({b}); duplicate or overlapping "
                                     f"ports are refused: merge them into one entry (port/endPort)")
        return self

    @property
    def all_ports(self) -> bool:
        """True when the edge opens every protocol and port (no ``ports``)."""
        return self.ports is None

    # Compatibility (deprecated, removed in 0.3): ``TenantSpec.allow_from`` held tenant names
    # before port-scoped edges, so programs compared, hashed, sorted and formatted its entries as
    # strings (``bundles[peer]``, ``peer in names``). An entry still behaves as its tenant's name
    # there; new code reads ``.tenant`` (or ``TenantSpec.peers``).
    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.tenant == other
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self.tenant)

    def __lt__(self, other: object) -> bool:
        if isinstance(other, AllowFrom):
            return (self.tenant, str(self.ports)) < (other.tenant, str(other.ports))
        if isinstance(other, str):
            return self.tenant < other
        return NotImplemented

    def __str__(self) -> str:
        return self.tenant


def _allow_from_entry(value: Any) -> Any:
    """A bare tenant name is the edge opening every port."""
    return {"tenant": value} if isinstance(value, str) else value


AllowFromEntry = Annotated[AllowFrom, BeforeValidator(_allow_from_entry)]


def raw_allow_from_peer(entry: Any) -> str | None:
    """The peer's name of one RAW ``allowFrom`` entry (a name or ``{tenant: ...}``), None when it
    has neither shape (the field validation reports it)."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, Mapping) and isinstance(entry.get("tenant"), str):
        return entry["tenant"]
    return None


def raw_allow_from_rules(entry: Any) -> int:
    """How many security group rules one RAW ``allowFrom`` entry needs on each side: one per
    ``ports`` entry, or one for an edge opening every port."""
    ports = entry.get("ports") if isinstance(entry, Mapping) else None
    return len(ports) if isinstance(ports, list) and ports else 1


POOLED_DEFAULT_PODS = 10
"""``quota.pods`` of a pooled tenant that sets none: pods on a pool are counted against its nodes'
branch network interfaces (the capacity preflight), so the default is small."""
POOLED_DEFAULT_EPHEMERAL_STORAGE = "3Gi"
"""``quota.ephemeralStorage`` of a pooled tenant that sets none (its requests share the pool's disks)."""


class SelfService(_Model):
    """What a tenant may manage itself inside its fences (issue 26). Each switch loosens one layer
    on purpose; ``tenancy diff`` reports turning one on."""

    rbac: StrictBool = False
    """The tenant's admin persona may create, update and delete Roles and RoleBindings in the
    tenant's namespace. Bounded twice: by Kubernetes' escalation prevention (a Role may hold only
    permissions its author holds, a RoleBinding may bind only a role whose permissions the author
    holds; the admin persona is never granted ``escalate``, ``bind`` or ``impersonate``:
    kubernetes/kubernetes ``pkg/registry/rbac/escalation_check.go``, Kubernetes docs "Using RBAC
    Authorization", "Privilege escalation prevention and bootstrapping"), and by the admission
    policy ``tenancy-tenant-rbac`` (the platform's ``tenancy-`` Roles and RoleBindings cannot be
    changed or deleted; subjects only the tenant's own groups and the service accounts of its
    namespaces). Default off: Roles and RoleBindings are read-only to the tenant."""
    network_policies: StrictBool = False
    """The tenant's admin and edit personas may create, update and delete NetworkPolicies in its
    namespace (not the platform's own ``tenancy-*`` policies: an admission policy refuses that).
    Safe because the cluster's Admin-tier ClusterNetworkPolicies decide cross-tenant, IMDS and
    egress traffic whatever the namespaced policies say; refused when
    ``cluster.clusterNetworkPolicies`` is off. Default off (docs/network.md, "Cluster network
    policies")."""


ServiceAccountRole = Literal["view", "edit"]
"""A persona Role a tenant's ServiceAccount may be bound to (``tenancy-view`` or ``tenancy-edit``)."""


Tier = Literal["premium", "standard"]
"""A tenant's service tier: its pods get the PriorityClass ``tenancy-<tier>`` and no other."""


class TenantSpec(_Model):
    """One tenant: a namespace, its nodes (a dedicated node group, or a shared pool), an address
    block or a pool's, and the identities it owns."""

    name: TenantName
    """DNS-1123 label, unique. The namespace name, and part of the tenant's AWS names."""
    slot: StrictInt | None = Field(None, ge=0)
    """A dedicated tenant's fixed block in the address plan (unique across tenants, pools and
    retired tenants). Required unless the tenant names a ``pool``; not allowed with one. Never
    reuse a removed tenant's slot while its subnets may still exist."""
    pool: PoolName | None = None
    """Run on the shared node pool of this name (``nodePools``) instead of dedicated nodes: no
    ``slot`` and no ``nodes`` then. The tenant's pods get its own security group through security
    groups for pods, and admission keeps them on that pool. Default: dedicated."""
    nodes: NodesSpec | None = None
    """A dedicated tenant's managed node group (tainted for the tenant). Default
    ``NodesSpec()``; not allowed with ``pool``."""
    tier: Tier = "premium"
    """``premium`` or ``standard``: the only PriorityClass (``tenancy-<tier>``) the tenant's pods
    may use. Default ``premium`` for a dedicated tenant, ``standard`` for a pooled one."""
    quota: QuotaSpec = QuotaSpec()
    """The namespace's ResourceQuota."""
    limits: LimitsSpec = LimitsSpec()
    """The namespace's LimitRange."""
    allow_from: list[AllowFromEntry] = []
    """Tenants whose pods may open connections into this tenant: a tenant's name (every protocol
    and port) or ``{tenant: <name>, ports: [{port, protocol, endPort}]}`` (only those ports, on
    the security groups and the NetworkPolicies alike). A tenant may appear once (merge its
    ports into one entry). Default: none."""

    @field_serializer("allow_from")
    def _allow_from_wire(self, edges: list[AllowFrom]) -> list[Any]:
        """Edges opening every port are written back as bare names (the wire form they came in)."""
        return [e.tenant if e.ports is None else
                {"tenant": e.tenant, "ports": [p.model_dump(by_alias=True, exclude_none=True) for p in e.ports]}
                for e in edges]

    @property
    def peers(self) -> list[str]:
        """The tenants of ``allowFrom``, in spec order."""
        return [e.tenant for e in self.allow_from]

    def edge(self, peer: str) -> AllowFrom | None:
        """The ``allowFrom`` entry for ``peer``, if any."""
        return next((e for e in self.allow_from if e.tenant == peer), None)
    service_accounts: list[DnsLabel] = []
    """Each gets a Kubernetes ServiceAccount (in every namespace of the tenant) and an IAM role
    scoped to the tenant's S3 prefix, assumable from each of those ServiceAccounts."""
    namespaces: list[DnsLabel] = []
    """Extra namespaces of the tenant; its ``name`` stays its first (main) namespace. Each gets
    the same labels, Pod Security, placement admission, roles for the tenant's groups, service
    accounts, LimitRange and NetworkPolicies; the tenant's namespaces reach each other, other
    tenants stay walled off from all of them (``allowFrom`` edges cover every namespace of both
    tenants). ``quota`` is the tenant's whole budget, split evenly across its namespaces (docs/bundle.md,
    "Several namespaces"). Names are DNS-1123 labels, unique across the platform (no other
    tenant's name or namespace, no system or platform namespace). Default none."""
    internet_egress: StrictBool = False
    """Allow egress to the internet (through NAT). Default off: tenants reach only DNS, their own
    namespace, the tenants that allow them, and AWS through the VPC endpoints."""
    kubernetes_api_access: StrictBool = False
    """Let the tenant's pods reach the Kubernetes API (operators, leader election): egress on TCP
    443 to exactly the ``kubernetes`` Service's ClusterIP and the API endpoint's network
    interfaces. Default off: pods reach no API (and get no token unless they ask for one)."""
    service_account_roles: dict[DnsLabel, ServiceAccountRole] = {}
    """Namespaced permissions for the tenant's ServiceAccounts: ``{<serviceAccount>: view|edit}``
    binds the ServiceAccount to the tenant's ``tenancy-view`` or ``tenancy-edit`` Role (a
    RoleBinding ``tenancy-sa-<name>`` in the tenant's namespace). Needs ``kubernetesApiAccess``
    (without it the pods cannot reach the API) and names from ``serviceAccounts``. Default: none
    (a ServiceAccount may do nothing in the API)."""
    admins: list[PrincipalArn] = []
    """IAM principals given the tenant's admin persona (EKS access entry → Kubernetes group
    ``tenancy:<tenant>:admins``)."""
    editors: list[PrincipalArn] = []
    """IAM principals given the edit persona (group `tenancy:<tenant>:editors`)."""
    viewers: list[PrincipalArn] = []
    """IAM principals given the read-only persona (group `tenancy:<tenant>:viewers`)."""
    offboarding: StrictBool = False
    """Phase one of off-boarding: removes the tenant's people's access (access entries), its
    workload roles and its nodes, and keeps its namespace (with its fences), its subnets and its
    data. Phase two: delete the tenant from ``tenants`` and add it to ``retiredTenants``.
    Default off."""
    team_stack: StrictBool = False
    """The tenant's in-cluster objects and workload roles are built by the team's own stack
    (:class:`tenancy.components.team.TeamTenant`, docs/library.md "Team stacks"); the platform builds its subnets,
    security group, nodes and access entries only. Default off."""
    self_service: SelfService = SelfService()
    """What the tenant's people may manage themselves: ``{rbac: true}`` lets its admins write Roles
    and RoleBindings in its namespaces (bounded by escalation prevention and the
    ``tenancy-tenant-rbac`` admission policy); ``{networkPolicies: true}`` lets its admins and
    editors write NetworkPolicies (behind the Admin-tier walls). Default: nothing."""
    adopt: StrictBool = False
    """Take over a namespace retained from a removed tenant of the same name (its objects are
    updated in place instead of failing with AlreadyExists). Required to re-use a name listed in
    ``retiredTenants``; keep it set afterwards. Default off."""

    @model_validator(mode="before")
    @classmethod
    def _placement_defaults(cls, data: Any) -> Any:
        """A dedicated tenant gets ``nodes: NodesSpec()``; a pooled tenant's tier defaults to
        ``standard``."""
        if isinstance(data, Mapping):
            pooled = data.get("pool") is not None
            if not pooled and data.get("nodes") is None:
                data = {**data, "nodes": NodesSpec()}
            if pooled and data.get("tier") is None:
                data = {**data, "tier": "standard"}
            quota = data.get("quota")
            if pooled and (quota is None or isinstance(quota, Mapping)):
                defaults = {"pods": POOLED_DEFAULT_PODS, "ephemeralStorage": POOLED_DEFAULT_EPHEMERAL_STORAGE}
                given = dict(quota or {})
                missing = {k: v for k, v in defaults.items()
                           if k not in given and (k != "ephemeralStorage" or "ephemeral_storage" not in given)}
                if missing:
                    data = {**data, "quota": {**given, **missing}}
        return data

    @model_validator(mode="after")
    def _placement(self) -> TenantSpec:
        if self.pool is not None:
            both = [f for f, given in (("slot", self.slot is not None), ("nodes", "nodes" in self.model_fields_set))
                    if given]
            if both:
                raise ValueError(
                    f"a tenant on the shared pool {self.pool!r} has no {' and no '.join(both)} of its own (it uses "
                    f"the pool's nodes and subnets); remove {' and '.join(both)}, or remove `pool` to give the "
                    f"tenant dedicated nodes")
        elif self.slot is None:
            raise ValueError(
                "a tenant needs either a `slot` (its own address block and dedicated nodes) or a `pool` "
                "(a shared node pool of nodePools); add one")
        return self

    @model_validator(mode="after")
    def _quota_holds_the_largest_container(self) -> TenantSpec:
        """``quota.cpu`` / ``quota.memory`` >= ``limits.maxPerContainer`` of the same resource.

        The quota caps both ``requests.*`` and ``limits.*`` of the namespace at the same value, and
        the LimitRange lets one container have a limit (and a request) up to ``maxPerContainer``.
        A quota below that maximum makes the LimitRange promise containers the quota always refuses
        (``exceeded quota`` at run time, for every pod with such a container, even in an empty
        namespace). This one comparison covers the others: ``defaultRequest <= defaultLimit <=
        maxPerContainer`` (:class:`LimitsSpec`), and a request is at most its limit, which the
        quota caps with the same number. Equal is allowed: one container at the maximum then
        takes the whole quota."""
        bad = []
        for res in ("cpu", "memory"):
            quota, top = getattr(self.quota, res), getattr(self.limits.max_per_container, res)
            if quantity_value(quota) < quantity_value(top):
                bad.append((res, quota, top))
        if bad:
            what = " and ".join(f"quota.{r} {q} is below limits.maxPerContainer.{r} {t}" for r, q, t in bad)
            raise_ = " and ".join(f"quota.{r} to at least {t}" for r, _, t in bad)
            lower = " and ".join(f"limits.maxPerContainer.{r} to at most {q}" for r, q, _ in bad)
            raise ValueError(
                f"{what}: the LimitRange would admit containers that the ResourceQuota always refuses (every pod "
                f"with one fails with 'exceeded quota'); raise {raise_}, or lower {lower} (defaultLimit and "
                f"defaultRequest no higher)")
        return self

    @property
    def namespace_count(self) -> int:
        """How many namespaces the tenant has (its main one and its extra ``namespaces``)."""
        return 1 + len(self.namespaces)

    def namespace_quota(self, index: int) -> QuotaSpec:
        """The ResourceQuota of the tenant's ``index``-th namespace (0: the main one): ``quota`` split
        evenly across the tenant's namespaces (:func:`split_quantity`, :func:`split_count`; the
        remainder to the first namespaces), so the namespaces' quotas never add up to more than
        ``quota`` — what the capacity checks (pool pods, branch interfaces, disks) count for the
        tenant. One namespace: ``quota`` itself."""
        n = self.namespace_count
        if n == 1:
            return self.quota
        q = self.quota
        milli, byte = Decimal("0.001"), Decimal(1)
        update: dict[str, Any] = {
            f: split_quantity(getattr(q, f), n, milli if f == "cpu" else byte)[index]
            for f in ("cpu", "memory", "storage", "ephemeral_storage")}
        update.update({f: split_count(getattr(q, f), n)[index]
                       for f in ("pods", "services", "persistent_volume_claims", "load_balancers", "node_ports")})
        update["objects"] = q.objects.model_copy(update={
            f: split_count(getattr(q.objects, f), n)[index] for f in ObjectCountsSpec.model_fields})
        return q.model_copy(update=update)

    @model_validator(mode="after")
    def _namespaces(self) -> TenantSpec:
        """Extra namespaces: not the tenant's name, no repeats, no reserved names; and the quota
        split across every namespace still leaves each one the largest container, a pod, and its
        ``kube-root-ca.crt`` ConfigMap (Kubernetes' root CA publisher writes one into every
        namespace) and a Secret."""
        seen: dict[str, int] = {}
        problems: list[str] = []
        for j, ns in enumerate(self.namespaces):
            if ns == self.name:
                problems.append(f"namespaces[{j}] {ns!r} is the tenant's name, already its main namespace; remove it")
            elif ns in seen:
                problems.append(f"namespaces[{j}] {ns!r} repeats namespaces[{seen[ns]}]; list each namespace once")
            else:
                seen[ns] = j
            reserved = naming.reserved_name_problem(ns)
            if reserved is not None:
                problems.append(f"namespaces[{j}]: {reserved.replace('tenant name', 'namespace name')}")
        n = self.namespace_count
        if n > 1 and not problems:
            last = self.namespace_quota(n - 1)  # the smallest share
            for res in ("cpu", "memory"):
                share, top = getattr(last, res), getattr(self.limits.max_per_container, res)
                if quantity_value(share) < quantity_value(top):
                    problems.append(
                        f"quota.{res} {getattr(self.quota, res)} split across the tenant's {n} namespaces leaves "
                        f"{share} per namespace, below limits.maxPerContainer.{res} {top}; raise quota.{res} to at "
                        f"least {_times(top, n)}, lower limits.maxPerContainer.{res}, or list fewer namespaces")
            for field, wire, what in (("pods", "pods", "a pod"),
                                      ("config_maps", "objects.configMaps", "its kube-root-ca.crt ConfigMap"),
                                      ("secrets", "objects.secrets", "a Secret")):
                total = getattr(self.quota.objects if "." in wire else self.quota, field)
                if total < n:
                    problems.append(f"quota.{wire} {total} split across the tenant's {n} namespaces leaves a "
                                    f"namespace no room for {what}; raise quota.{wire} to at least {n}, or list "
                                    "fewer namespaces")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def pooled(self) -> bool:
        """True when the tenant runs on a shared node pool (``pool``), not dedicated nodes."""
        return self.pool is not None

    @field_validator("allow_from")
    @classmethod
    def _unique_peers(cls, edges: list[AllowFrom]) -> list[AllowFrom]:
        """A peer appears once: duplicates are refused, not merged (which ports were meant would
        be a guess)."""
        seen: dict[str, int] = {}
        for j, e in enumerate(edges):
            if e.tenant in seen:
                raise ValueError(f"allowFrom[{j}] names {e.tenant!r} again (allowFrom[{seen[e.tenant]}]); a tenant "
                                 f"appears once: merge the two entries' ports into one entry")
            seen[e.tenant] = j
        return edges

    @model_validator(mode="after")
    def _service_accounts(self) -> TenantSpec:
        if "default" in self.service_accounts:
            raise ValueError("serviceAccounts must not contain 'default': the namespace's default "
                             "ServiceAccount is kept without a token or role; name a dedicated one")
        return self

    @model_validator(mode="after")
    def _service_account_roles(self) -> TenantSpec:
        """``serviceAccountRoles`` names only the tenant's ServiceAccounts, and only with
        ``kubernetesApiAccess`` (a permission the pods could never use would be a silent no-op)."""
        if not self.service_account_roles:
            return self
        unknown = sorted(set(self.service_account_roles) - set(self.service_accounts))
        if unknown:
            raise ValueError(f"serviceAccountRoles names {unknown}, which are not in serviceAccounts "
                             f"{list(self.service_accounts)}; add them to serviceAccounts or remove them from "
                             "serviceAccountRoles")
        if not self.kubernetes_api_access:
            raise ValueError("serviceAccountRoles grants API permissions to "
                             f"{sorted(self.service_account_roles)}, but kubernetesApiAccess is off: the tenant's "
                             "pods cannot reach the Kubernetes API; set kubernetesApiAccess: true, or remove "
                             "serviceAccountRoles")
        return self


# --------------------------------------------------------------------------------------------
# Platform layers


_ZONE_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")


def _zone_name(value: str) -> str:
    if not _ZONE_NAME.match(value):
        raise ValueError(f"{value!r} is not an availability zone name (e.g. eu-west-1a)")
    return value


class FlowLogsSpec(_Model):
    destination: Literal["cloudWatch", "s3"] = "cloudWatch"
    """Where flow log records go: a CloudWatch log group (default) or an S3 bucket."""
    retention_days: RetentionDays = 365
    """Days CloudWatch keeps flow log records (or S3 keeps objects). Default 365."""


class NetworkSpec(_Model):
    """The VPC's egress and auditing."""

    nat_gateways: Literal["perAz", "single"] = "perAz"
    """``perAz`` (default): one NAT gateway per zone, no cross-zone dependency. ``single``: one
    NAT gateway for all zones — cheaper, but a zone outage cuts every zone's egress."""
    flow_logs: FlowLogsSpec = FlowLogsSpec()
    """VPC Flow Logs of all traffic; every record is attributable to a tenant by its subnet."""
    tenant_network_acls: StrictBool = False
    """Stateless NACLs on each tenant's subnets denying other tenants' blocks (a third wall).
    Default off: NACL rules are capped at 20 (40 on request), and ``allowFrom`` peers need
    holes in both directions."""
    zone_names: list[Annotated[str, AfterValidator(_zone_name)]] = []
    """Pin the availability zones by name, in order (e.g. ``[eu-west-1a, eu-west-1b,
    eu-west-1c]``); as many as ``availabilityZones``. Default empty: the first zones the region
    reports as available. Pinning keeps subnets in place if the region's list ever changes."""
    security_group_rule_quota: StrictInt = Field(60, ge=1, le=1000)
    """Inbound (and, separately, outbound) rules per security group allowed by your VPC quota
    (default 60). A tenant's group holds 4 inbound rules plus one per ``allowFrom`` entry (one
    per port entry of a port-scoped one), and 6 outbound (one more with ``internetEgress``, one
    more with the Istio mesh) plus the same for each tenant that allows it."""
    network_acl_rule_quota: StrictInt = Field(20, ge=1, le=40)
    """Rules per network ACL (per direction) allowed by your VPC quota (default 20, at most 40).
    Only used with ``tenantNetworkAcls``: 4 fixed rules plus one per ``allowFrom`` edge touching
    the tenant."""

    @model_validator(mode="after")
    def _unique_zones(self) -> NetworkSpec:
        if len(set(self.zone_names)) != len(self.zone_names):
            raise ValueError("zoneNames lists a zone twice; list each zone once")
        return self


_SECURITY_GROUP_ID = re.compile(r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")


def _security_group_id(value: str) -> str:
    if not _SECURITY_GROUP_ID.match(value):
        raise ValueError(f"{value!r} is not a security group id (sg- and 8 or 17 hex digits, "
                         "e.g. sg-0123456789abcdef0)")
    return value


SecurityGroupId = Annotated[str, AfterValidator(_security_group_id)]


class ClusterSpec(_Model):
    """The EKS control plane and the system node group."""

    endpoint_public_access_cidrs: list[Cidr] = Field(default_factory=list, max_length=40)
    """CIDRs allowed to reach a public API endpoint. Default empty: the endpoint is private
    only. Never 0.0.0.0/0 by default."""
    api_access_cidrs: list[Cidr] | None = Field(None, max_length=50)
    """CIDRs allowed to open the PRIVATE API endpoint on TCP 443 (CI runners, bastions, VPN or
    peered networks): ingress rules on the control plane's security group. Default (unset): the
    VPC's own CIDR, so anything inside the VPC (a CI runner, a bastion) can apply the Kubernetes
    objects; ``[]``: nobody but the nodes and ``apiAccessSecurityGroupIds``. Never 0.0.0.0/0."""
    api_access_security_group_ids: list[SecurityGroupId] = Field(default_factory=list, max_length=50)
    """Security groups (of this VPC, or of a peered VPC in the same region) whose members may
    open the private API endpoint on TCP 443: e.g. your CI runners' or bastion's group. Default none."""
    log_retention_days: RetentionDays = 90
    """Days the control-plane logs (api, audit, authenticator, …) are kept. Default 90."""
    deletion_protection: StrictBool = False
    """Protect the cluster (and the tenant-data bucket) from ``pulumi destroy``."""
    cluster_admins: list[PrincipalArn] = []
    """IAM principals given cluster-wide admin (AmazonEKSClusterAdminPolicy)."""
    upgrade_policy: Literal["STANDARD", "EXTENDED"] = "STANDARD"
    """EKS support type. ``STANDARD`` (default): at the end of standard support EKS upgrades the
    cluster. ``EXTENDED``: it stays on its version at extended-support prices (the EKS and
    pulumi-eks default when unset, which this field never leaves unset)."""
    system_nodes: NodesSpec = NodesSpec(instance_types=["m6i.large"], min_size=2, max_size=4, desired_size=2)
    """The platform's own node group (CoreDNS, add-ons), tainted ``CriticalAddonsOnly``."""
    service_cidr: Annotated[str, AfterValidator(lambda v: _service_cidr(v))] | None = None
    """The Kubernetes Service (ClusterIP) range, pinned so that NetworkPolicies can exclude it
    from internet egress and name the API's ClusterIP. A private block from /12 to /24 outside
    the VPC and the ``apiAccessCidrs`` networks (both are checked, against the default too).
    Default: the block EKS itself picks when none is given (``172.20.0.0/16`` when the
    VPC is in 10.0.0.0/8, else ``10.100.0.0/16``), so pinning an existing cluster changes
    nothing. It can only be set at cluster creation: changing it replaces the cluster."""

    autoscaler: Literal["clusterAutoscaler", "none"] = "clusterAutoscaler"
    """Who moves the node groups' sizes between ``minSize`` and ``maxSize``.
    ``clusterAutoscaler`` (default): the Kubernetes cluster-autoscaler, run by the platform on
    the system nodes with its own IAM role, pinned to the image of the cluster's Kubernetes minor;
    it owns every group's desired size (``desiredSize`` is where a group starts) and the pools'
    capacity is checked at ``maxSize``. ``none``: nothing scales; every group runs
    ``desiredSize`` nodes, ``pulumi up`` applies a changed ``desiredSize``, and the pools'
    capacity is checked at ``desiredSize`` (docs/cluster.md, "Scaling"; Karpenter instead:
    the same section)."""

    network_policy_enforcing_mode: Literal["strict", "standard"] = "strict"
    """The VPC CNI policy agent's mode (``NETWORK_POLICY_ENFORCING_MODE`` on ``aws-node``).
    ``strict`` (default): a new pod starts with everything denied until its policies are
    programmed, and a pod no policy selects stays denied — the platform gives its own namespaces
    policies (``workloads.platformNamespaces`` adds yours). ``standard``: new pods start with
    everything ALLOWED until their policies are programmed (an unenforced window at every pod
    start)."""

    cluster_network_policies: StrictBool = True
    """Render the Admin- and Baseline-tier ``ClusterNetworkPolicy`` walls (VPC CNI v1.21.1+,
    Kubernetes 1.29+): per tenant an Admin policy that denies every other tenant's namespaces
    except its ``allowFrom`` edges, denies IMDS and passes only the flows its namespaced policies
    allow; and a Baseline default deny for tenant namespaces. Default on; off keeps the
    namespaced NetworkPolicies as the only wall (and refuses ``selfService.networkPolicies``)."""

    @model_validator(mode="after")
    def _no_open_endpoint(self) -> ClusterSpec:
        for cidr in self.endpoint_public_access_cidrs:
            if ipaddress.IPv4Network(cidr).prefixlen == 0:
                raise ValueError("endpointPublicAccessCidrs must not contain 0.0.0.0/0: list the CIDRs "
                                 "of your operators and CI, or leave it empty for a private endpoint")
        for cidr in self.api_access_cidrs or []:
            if ipaddress.IPv4Network(cidr).prefixlen == 0:
                raise ValueError("apiAccessCidrs must not contain 0.0.0.0/0: list the CIDRs of your CI runners, "
                                 "bastions or VPN (or leave it unset for the VPC's own CIDR)")
        if (self.api_access_cidrs == [] and not self.api_access_security_group_ids
                and not self.endpoint_public_access_cidrs):
            raise ValueError("nobody could reach the Kubernetes API to apply the platform's objects: "
                             "apiAccessCidrs is empty, and there are no apiAccessSecurityGroupIds and no "
                             "endpointPublicAccessCidrs; list where `pulumi up` runs (or unset apiAccessCidrs "
                             "for the VPC's own CIDR)")
        return self


_SERVICE_CIDR_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _service_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network address ({exc}); write e.g. 172.20.0.0/16") from None
    if not any(net.subnet_of(r) for r in _SERVICE_CIDR_RANGES):
        raise ValueError(f"{value} is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, the only ranges EKS "
                         "accepts for Services; use e.g. 172.20.0.0/16")
    if not 12 <= net.prefixlen <= 24:
        raise ValueError(f"EKS accepts a Service range from /12 to /24, got /{net.prefixlen}; use e.g. a /16")
    return value


def default_service_cidr(vpc_cidr: str) -> str:
    """The Service range EKS assigns when none is given: EKS documents "either 10.100.0.0/16 or
    172.20.0.0/16" (API reference, KubernetesNetworkConfigRequest.serviceIpv4Cidr); it takes the
    one that does not collide with the VPC — 172.20.0.0/16 for a VPC in 10.0.0.0/8."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    return "172.20.0.0/16" if vpc.subnet_of(ipaddress.IPv4Network("10.0.0.0/8")) else "10.100.0.0/16"


class IdentitySpec(_Model):
    """How tenant workloads get AWS credentials."""

    mode: Literal["irsa", "podIdentity"] = "irsa"
    """``irsa`` (default): IAM roles for service accounts through the cluster's OIDC provider.
    ``podIdentity``: EKS Pod Identity associations (no OIDC provider; scales past role trust
    policy limits)."""
    access_points: StrictBool = False
    """Also create one S3 Access Point per tenant, limited to its prefix."""
    access_logging: StrictBool = False
    """Log requests to the tenant-data bucket into a separate log bucket."""
    noncurrent_version_expiration_days: StrictInt | None = Field(None, ge=1)
    """Expire old object versions after this many days. Default: keep them."""
    bucket_key: StrictBool = True
    """Use an S3 Bucket Key for SSE-KMS (default on: up to 99% fewer KMS requests). KMS then sees
    the bucket ARN as encryption context, so tenant roles' key use is pinned to the bucket, and
    the tenant prefix is enforced by S3 alone. ``false``: every object is encrypted under its own
    ARN as context, and tenant roles may use the key only for their own prefix — a second wall,
    at one KMS request per object operation."""


class IstioSpec(_Model):
    """The prerequisites of ``workloads.mesh: istio``. The platform does not install Istio: it
    needs one installed BEFORE it is deployed (istiod and its CRDs in ``istio-system``, on the
    system nodes), and it checks that you declared so."""

    preinstalled: StrictBool = False
    """Declare that Istio (istiod and the ``security.istio.io`` CRDs) is installed in
    ``istio-system``. Required with ``mesh: istio``: the PeerAuthentication and
    AuthorizationPolicy objects cannot be created without the CRDs."""
    cni: StrictBool = False
    """Declare that the Istio CNI node agent is installed (``istioctl install --set
    components.cni.enabled=true``). Required with ``mesh: istio``: without it every injected pod
    carries ``istio-init`` with NET_ADMIN/NET_RAW, which the tenants' ``restricted`` Pod
    Security rejects (istio.io, "Install Istio with Pod Security Admission")."""
    revision: DnsLabel | None = None
    """The istiod revision tenants' namespaces are injected by (label ``istio.io/rev=<revision>``).
    Default none: the label ``istio-injection=enabled`` (the default revision)."""


class WorkloadsSpec(_Model):
    """In-cluster settings shared by every tenant bundle."""

    ingress_controller_namespace: DnsLabel | None = None
    """Namespace of an ingress controller allowed to reach every tenant's pods. Default none."""
    mesh: Literal["none", "istio"] = "none"
    """``istio``: label tenant namespaces for sidecar injection, add STRICT mTLS
    PeerAuthentication and an AuthorizationPolicy per tenant, and open the sidecar → istiod
    (15012) and control plane → injection webhook (15017) paths. Needs ``istio.preinstalled``
    and ``istio.cni`` (see ``docs/bundle.md``, "Istio (optional)")."""
    istio: IstioSpec = IstioSpec()
    """The Istio installation the mesh relies on (declared, not installed, by the platform)."""
    platform_namespaces: list[DnsLabel] = []
    """Namespaces of your own platform add-ons (monitoring, cert-manager…) that get the
    platform's NetworkPolicies (egress anywhere, ingress from non-tenant namespaces and the
    system subnets). In strict enforcing mode a pod that no policy selects is denied everything:
    list here every namespace that runs pods and has no policies of its own. They are created if
    absent (and kept when removed from the list)."""
    storage: Literal["ebs", "none"] = "ebs"
    """Persistent volumes for tenants. ``ebs`` (default): the ``aws-ebs-csi-driver`` add-on with
    its own IAM role, a KMS key for volumes and the default StorageClass ``gp3-encrypted``
    (encrypted gp3). ``none``: no driver, and every tenant's PVC and storage quota is 0."""
    pod_security_version: Annotated[str, AfterValidator(lambda v: _psa_version(v))] = "latest"
    """The Pod Security Standards version every tenant namespace enforces (``restricted``), audits
    and warns on. Default ``latest``: the newest rules of the cluster's version. Pin it
    (``v1.33``) to keep an upgrade of the cluster from rejecting pods the old rules admitted."""

    @model_validator(mode="after")
    def _mesh_prerequisites(self) -> WorkloadsSpec:
        if self.mesh == "istio":
            missing = [f"istio.{f}: true" for f in ("preinstalled", "cni") if not getattr(self.istio, f)]
            if missing:
                raise ValueError(
                    f"mesh: istio needs a preinstalled Istio with the Istio CNI node agent; install Istio (istiod "
                    f"in istio-system, with components.cni.enabled=true) and then set {' and '.join(missing)} — "
                    "without the CRDs the mesh policies cannot be created, and without Istio CNI the tenants' "
                    "restricted Pod Security rejects every injected pod (istio-init needs NET_ADMIN)")
        return self


def _psa_version(value: str) -> str:
    if value != "latest" and not re.fullmatch(r"v1\.[0-9]{1,2}", value):
        raise ValueError(f"{value!r} is not a Pod Security Standards version; write 'latest' or a "
                         "Kubernetes minor version such as 'v1.33'")
    return value


# --------------------------------------------------------------------------------------------
# Platform


class RetiredTenant(_Model):
    """A tenant removed from the platform: its name and slot are never handed out again (its
    namespace and data prefix may still exist)."""

    name: TenantName
    """The removed tenant's name (its retained namespace, its S3 prefix)."""
    slot: StrictInt | None = Field(None, ge=0)
    """The removed tenant's slot; none for a tenant that ran on a shared pool."""


class NodePoolSpec(_Model):
    """A shared node pool: one managed node group, tainted ``tenancy/pool=<name>``, on which the
    tenants naming it in ``pool`` run side by side, each walled by its own security group
    (security groups for pods), its NetworkPolicies and admission."""

    name: PoolName
    """DNS-1123 label, unique among pools and distinct from tenant names. AWS names of the pool
    are ``<platform>-pool-<name>...``."""
    slot: StrictInt = Field(ge=0)
    """The pool's block in the address plan (shared slot space with tenants and retired tenants):
    its nodes and all its tenants' pods take addresses there."""
    nodes: NodesSpec = NodesSpec(instance_types=["m6i.2xlarge"], min_size=2, max_size=10, desired_size=2)
    """The pool's managed node group. Instance types must support branch network interfaces
    (trunking; not the t family), and each pod of a pooled tenant takes one: an m6i.2xlarge holds
    38 such pods, an m6i.large 9 (docs/pools.md). Default m6i.2xlarge, 2..10 nodes (380 pods)."""


class LogsSpec(_Model):
    """Per-tenant workload logs (docs/observability.md): a log router DaemonSet sends each tenant's
    container logs to the tenant's own CloudWatch log group ``/tenancy/<platform>/<tenant>/containers``
    (KMS-encrypted), and each tenant gets a reader role its people may assume."""

    enabled: StrictBool = False
    """Deploy the log router, the per-tenant log groups and reader roles. Default off."""
    retention_days: RetentionDays = 90
    """Days CloudWatch keeps each tenant's container logs: one of CloudWatch's retention values
    (1, 3, 5, 7, 14, 30, 60, 90, … 3653). Default 90."""
    namespace: DnsLabel = "tenancy-logs"
    """Platform namespace the router runs in (never a tenant's). Default ``tenancy-logs``."""
    image: str = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3"
    """The router's image: an OpenTelemetry Collector with the filelog receiver and the
    awscloudwatchlogs exporter (AWS Distro for OpenTelemetry by default). Mirror it into a
    private ECR repository for nodes without internet egress."""

    @field_validator("namespace")
    @classmethod
    def _not_system(cls, v: str) -> str:
        if v in ("default", "kube-system", "kube-public", "kube-node-lease"):
            raise ValueError(f"observability.logs.namespace {v!r} is a Kubernetes system namespace; "
                             "give the router its own, e.g. tenancy-logs")
        return v


_BACKUP_SCHEDULE = re.compile(r"^cron\([^()]+\)$")


def _backup_schedule(value: str) -> str:
    if not _BACKUP_SCHEDULE.match(value) or len(value[5:-1].split()) != 6:
        raise ValueError(f"{value!r} is not an AWS Backup schedule: write a six-field cron expression in UTC, "
                         "e.g. cron(0 3 ? * * *) for 03:00 every day")
    return value


class MetricsSpec(_Model):
    """Container Insights metrics (docs/observability.md, "Metrics")."""

    enabled: StrictBool = False
    """Install the ``amazon-cloudwatch-observability`` EKS add-on (its agent on every node,
    tolerating every taint; container log shipping off: per-tenant logs are ``observability.logs``),
    the ``monitoring`` interface endpoint, and a CloudWatch dashboard per tenant scoped to its
    namespace. Default off."""


class BackupSpec(_Model):
    """AWS Backup of the cluster's state and tenants' volumes (docs/observability.md, "Backups")."""

    enabled: StrictBool = False
    """A KMS-encrypted backup vault, a plan and a selection of the EKS cluster (composite
    recovery points: cluster state plus EBS volumes), restorable one tenant namespace at a
    time. Default off."""
    schedule: Annotated[str, AfterValidator(_backup_schedule)] = "cron(0 3 ? * * *)"
    """When the plan backs up, a six-field AWS Backup cron expression in UTC. Default daily at 03:00."""
    retention_days: StrictInt = Field(35, ge=1, le=36500)
    """Days each recovery point is kept. Default 35."""


class Observability(_Model):
    """What the platform ships so that each tenant sees its own logs, metrics and audit trail and
    nobody else's, and backups that restore one tenant (docs/observability.md)."""

    logs: LogsSpec = LogsSpec()
    """Per-tenant workload logs (default off)."""
    metrics: MetricsSpec = MetricsSpec()
    """Container Insights and per-tenant dashboards. Default off."""
    backup: BackupSpec = BackupSpec()
    """AWS Backup of the cluster. Default off."""
    saved_queries: StrictBool = True
    """CloudWatch Logs Insights query definitions per tenant: who accessed its namespaces (EKS audit
    log) and which flows reached its subnets from other tenants' blocks (VPC flow logs, when
    they go to CloudWatch). Default on: they cost nothing until run."""


class PlatformSpec(_Model):
    """The whole platform: one VPC, one EKS cluster, many tenants."""

    name: PlatformName
    """DNS-1123 label of at most 24 characters: the cluster's name and the prefix of AWS names."""
    vpc_cidr: Annotated[str, AfterValidator(lambda v: valid_vpc_cidr(v))]
    """The VPC's IPv4 block: a private range, at most a /16. Cut into /`tenantBlockPrefix` blocks
    (see the address plan)."""
    availability_zones: StrictInt = Field(3, ge=2, le=6)
    """How many zones the VPC spans (2..6). Default 3."""
    kubernetes_version: Annotated[str, BeforeValidator(_to_str), BeforeValidator(_unquoted_version),
                                  AfterValidator(_kubernetes_version)] = LATEST
    """EKS Kubernetes version, 1.30..1.35 (EKS's release calendar: ``tenancy.spec.versions``).
    Default 1.35, the newest. Quote it in YAML ("1.30", not 1.30). Node groups run this version
    and every managed add-on a build made for it; raise it one minor at a time (a skipped minor
    or a downgrade is refused against ``--previous``). With ``cluster.upgradePolicy: STANDARD``
    EKS upgrades the control plane itself at the end of standard support: follow it here."""
    tenants: list[TenantSpec] = []
    """The tenants. Their order does not matter: each is placed by its `slot` (or `pool`) and named
    by its `name`."""
    node_pools: list[NodePoolSpec] = []
    """Shared node pools for tenants that name them in `pool` (hundreds of tenants per cluster,
    no idle dedicated nodes). Default none: every tenant has dedicated nodes."""
    tenant_block_prefix: StrictInt = Field(DEFAULT_TENANT_BLOCK_PREFIX, ge=MIN_VPC_PREFIX, le=28)
    """Prefix length of each tenant's address block. Default /21: a /16 holds 30 tenant slots."""
    node_group_quota: StrictInt = Field(30, ge=2, le=450)
    """Managed node groups per cluster allowed by your EKS quota (default 30). One is kept for the
    system node group; raise it only after raising the quota in Service Quotas."""
    subnet_quota: StrictInt = Field(200, ge=1)
    """Subnets per VPC allowed by your VPC quota (default 200)."""
    security_group_quota: StrictInt = Field(2500, ge=1)
    """VPC security groups per Region your account may hold (default 2,500): the platform's
    groups (6 of its own, one per tenant, one per node pool) must fit. Set it after raising the
    quota in Service Quotas, lowered by the groups other stacks use in the Region."""
    iam_role_quota: StrictInt = Field(1000, ge=1)
    """IAM roles the platform may create in its account (default 1,000, IAM's 'Roles per
    account'): platform roles, a node role per dedicated tenant and per node pool, one per service
    account. Set it after raising the quota, lowered by the roles other stacks use."""
    network: NetworkSpec = NetworkSpec()
    """VPC egress, flow logs, network ACLs."""
    cluster: ClusterSpec = ClusterSpec()
    """EKS control plane, system node group, platform admins."""
    identity: IdentitySpec = IdentitySpec()
    """Workload identity (IRSA or Pod Identity) and the tenant-data bucket."""
    workloads: WorkloadsSpec = WorkloadsSpec()
    """In-cluster settings shared by every tenant."""
    observability: Observability = Observability()
    """Per-tenant workload logs (``logs``), metrics, saved audit/flow queries and backups
    (docs/observability.md)."""
    retired_tenants: list[RetiredTenant] = []
    """Tenants removed from ``tenants``: a retired name or slot cannot be reused (a name only
    with ``adopt: true``, which takes over its retained namespace). Default none."""

    @property
    def address_plan(self) -> AddressPlan:
        return AddressPlan(self.vpc_cidr, self.availability_zones, self.tenant_block_prefix)

    @property
    def service_cidr(self) -> str:
        """The cluster's Service range: ``cluster.serviceCidr``, else EKS's own default."""
        return self.cluster.service_cidr or default_service_cidr(self.vpc_cidr)

    @property
    def kubernetes_service_ip(self) -> str:
        """The ``default/kubernetes`` Service's ClusterIP: the first address of the Service range
        (kube-apiserver allocates it so; e.g. 172.20.0.1)."""
        return str(ipaddress.IPv4Network(self.service_cidr).network_address + 1)

    def tenant(self, name: str) -> TenantSpec:
        for t in self.tenants:
            if t.name == name:
                return t
        raise KeyError(name)

    def node_pool(self, name: str) -> NodePoolSpec:
        for p in self.node_pools:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def dedicated_tenants(self) -> list[TenantSpec]:
        """Tenants with their own node group and address block, in spec order."""
        return [t for t in self.tenants if t.pool is None]

    @property
    def pooled_tenants(self) -> list[TenantSpec]:
        """Tenants on a shared node pool, in spec order."""
        return [t for t in self.tenants if t.pool is not None]

    def block_slot(self, tenant: TenantSpec) -> int:
        """The address block ``tenant``'s nodes and pods live in: its own ``slot``, or its pool's."""
        if tenant.pool is not None:
            return self.node_pool(tenant.pool).slot
        assert tenant.slot is not None
        return tenant.slot

    def pool_tenants(self, pool: str) -> list[TenantSpec]:
        """The tenants on node pool ``pool``, in spec order."""
        return [t for t in self.tenants if t.pool == pool]


def valid_vpc_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network address ({exc}); write e.g. 10.40.0.0/16") from None
    if net.prefixlen < MIN_VPC_PREFIX:
        raise ValueError(f"a VPC CIDR block can be at most a /{MIN_VPC_PREFIX}, got /{net.prefixlen}; use a /16")
    if not net.is_private:
        raise ValueError(f"{value} is not a private range; use an RFC 1918 block such as 10.x.0.0/16")
    return value
