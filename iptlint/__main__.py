"""`python -m iptlint`."""

import sys

from iptlint.cli import main

sys.exit(main())
