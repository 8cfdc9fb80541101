"""`python -m latentlab.cli ...` is the `latentlab` command."""

import sys

from latentlab.cli import main

sys.exit(main())
