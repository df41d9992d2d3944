"""The README's layout section lists every module of the project, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gemtext", "capsule", "certs", "server")


def layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def listed_modules() -> set[str]:
    """Paths of the modules in the layout block, folders taken from the indentation."""
    listed: set[str] = set()
    folders: list[str] = []
    for line in layout_block().splitlines():
        match = re.match(r"^( *)(\S+)", line)
        if not match:
            continue
        depth, name = len(match.group(1)) // 2, match.group(2)
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
        elif name.endswith(".py"):
            listed.add("/".join([*folders, name]))
    return listed


def project_modules() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.name != "__init__.py" and "demo" not in path.parts
    }


def test_layout_lists_every_module_with_its_job() -> None:
    assert listed_modules() == project_modules()


def test_every_listed_module_says_its_job() -> None:
    for line in layout_block().splitlines():
        if line.strip().endswith(".py"):
            raise AssertionError(f"no job given: {line.strip()}")
