"""One mode of `python -m tests.load.fairshare`, in a process of its own (Django's
settings are read once): `python -m tests.load.fairshare_run MODE SECONDS OUT.json`."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from .fairshare import run_celery, run_embedded


def main() -> int:
    mode, seconds, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
    with tempfile.TemporaryDirectory(prefix=f"hl-fair-{mode}-") as tmp:
        run = run_embedded if mode == "embedded" else run_celery
        out.write_text(json.dumps(run(seconds, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
