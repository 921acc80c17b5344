"""`python -m coursekit COMMAND`: the course's command line (coursekit/cli/main.py), as the Makefile calls it."""

import sys

from coursekit.cli.main import main

sys.exit(main())
