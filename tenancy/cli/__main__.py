"""``python -m tenancy.cli`` runs the ``tenancy`` command."""

import sys

from tenancy.cli.main import main

sys.exit(main())
