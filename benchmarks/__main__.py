"""``python -m benchmarks``: the throughput benchmark suite."""

from __future__ import annotations

import sys

from benchmarks.bench import main

sys.exit(main())
