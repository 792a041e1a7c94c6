"""`python -m session_store_harness.worker`: the measured cycle worker (see `cycles.py`)."""

import sys

from session_store_harness.worker.cycles import main

sys.exit(main())
