"""The deployable program: `pulumi up -s <stack>` runs this with `stacks/Pulumi.<stack>.yaml`.

Thin on purpose: `tenancy render --stack <stack>` runs the same `tenancy.program.main` offline.
"""

from tenancy.program import main

main()
