"""`python -m aae ...`: the same as the `aae` command (and what torchrun runs)."""

import sys

from aae.cli import main

sys.exit(main())
