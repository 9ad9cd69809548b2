"""A team stack: the payments tenant's namespace, quota, RBAC, network policies, service accounts
and their IAM roles, built against the platform stack's outputs (tenancy.components.team).

The platform stack is referenced by name (`platformStack`, a StackReference); its settings come
from `platformFacts` (its `teamStackFacts` output). Without `platformStack`, the platform's
outputs are read from the `platform` config object instead.
"""

import pulumi

from tenancy.components.team import PlatformRef, TeamTenant, TeamTenantArgs

config = pulumi.Config()
stack_name = config.get("platformStack")
if stack_name:
    platform = PlatformRef.from_outputs(pulumi.StackReference(stack_name), facts=config.require_object("platformFacts"))
else:
    platform = PlatformRef.from_outputs(config.require_object("platform"))

tenant = config.require_object("tenant")
team = TeamTenant(tenant["name"], TeamTenantArgs(platform=platform, tenant=tenant))
for key, value in team.outputs().items():
    pulumi.export(key, value)
