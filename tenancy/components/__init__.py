"""The Pulumi components: each builds one part of the platform from the spec and the plan.

- :mod:`.network` — the VPC, per-tenant and per-pool subnets, security groups, NACLs, endpoints, flow logs;
- :mod:`.cluster` — the EKS cluster, add-ons, system, tenant and pool node groups, access entries,
  the placement and service-exposure admission policies;
- :mod:`.identity` — the data bucket and each tenant's workload roles (IRSA or Pod Identity);
- :mod:`.bundle` — a tenant's in-cluster objects (namespace, Pod Security, quota, limits, RBAC,
  service accounts, default-deny network policies), :mod:`.tiers` its PriorityClasses;
- :mod:`.storage`, :mod:`.autoscaler`, :mod:`.access`, :mod:`.platform_policies` — block storage,
  the cluster-autoscaler (and its node groups' ASG tags), shared people's access, the platform
  namespaces' network policies;
- :mod:`.tenant` — one tenant's pieces together; :mod:`.platform` — the whole platform;
- :mod:`.team` — a tenant's in-cluster layer built by the team's own stack;
- :mod:`.invokes` — provider look-ups the components share.

The public classes are exported by :mod:`tenancy` (``from tenancy import Platform``).
"""
