"""Entry point of the delivery worker process (see :mod:`mlops_nb.tracking.writer`)."""

from __future__ import annotations

import sys

from mlops_nb.tracking.writer import main

if __name__ == "__main__":
    sys.exit(main())
