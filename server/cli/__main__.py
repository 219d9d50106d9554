"""`python -m server.cli`: the `vdist` command without the console script."""

import sys

from server.cli import main

sys.exit(main())
