"""``python -m relais ...``: the same as the ``relais`` command."""

import sys

from relais.cli import main

sys.exit(main())
