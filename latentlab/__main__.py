"""`python -m latentlab ...` is the `latentlab` command."""

import sys

from latentlab.cli import main

sys.exit(main())
