"""``python -m dvdrental``: the same command line as the installed ``dvdrental`` script."""

import sys

from dvdrental.commands import main

sys.exit(main())
