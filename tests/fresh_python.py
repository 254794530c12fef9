"""Python code run in a fresh process of this interpreter, from the project's root: what
a module imports shows only there (the test process has everything loaded already)."""

from __future__ import annotations

import subprocess
import sys

from django.conf import settings

BARE = {"PATH": "/usr/bin:/bin"}  # a fresh shell's environment: no secret, no test flag


def fresh_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=settings.BASE_DIR, env=BARE if env is None else env,
                          timeout=120)
