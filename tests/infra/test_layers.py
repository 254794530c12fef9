"""The layers of the house hold: the import-linter contracts in pyproject.toml are kept,
and they cover every app of the project (a new app would otherwise go unchecked)."""

import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_every_app_of_the_project_is_in_the_import_contracts():
    ours = {app.name.split(".")[0] for app in apps.get_app_configs()
            if Path(app.path).resolve().parent == ROOT}
    packages = set(config()["root_packages"])
    assert ours | {"hypothesislab"} == packages
    layered = {layer.split(".")[0] for contract in config()["contracts"]
               if contract["type"] == "layers" for entry in contract["layers"]
               for layer in entry.replace(":", "|").split("|")}
    assert {name.strip() for name in layered} >= ours


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout
