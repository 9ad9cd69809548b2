"""The tenancy guardrails as a CrossGuard policy pack:

    pulumi preview --policy-pack policy-pack [--policy-pack-config policy-pack/config.example.json]

The rules are tenancy.review.check's (tenancy/review/policy_pack.py turns them into stack policies)."""

from tenancy.review.policy_pack import pack

pack()
