"""``python -m bot`` runs the ``maintbot`` command line."""

import sys

from bot.cli import main

sys.exit(main())
