"""environment.yml (conda users) pins exactly what pyproject.toml pins (pip users): one set of
versions, so both compute the same figures."""

from __future__ import annotations

import tomllib

import yaml

from tests.notebook_project import REPO


def test_environment_yml_pins_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip if "==" in p} == pinned
    assert "--editable ." in pip
