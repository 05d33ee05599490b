"""`python -m rankdistill.cli ...`, the same as the `rankdistill` command."""

import sys

from rankdistill.cli import main

sys.exit(main())
