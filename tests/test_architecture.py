"""The package layering holds: imports flow ingest -> features -> model_engine -> lifecycle, with monitoring and
scoring_api on top, and only settings modules read the environment."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ingest", "features", "model_engine", "lifecycle", "monitoring", "scoring_api")


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"environ", "getenv"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
    return False


def test_only_settings_modules_read_the_environment() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if path.stem != "settings" and _reads_environment(ast.parse(path.read_text()))
    ]
    assert offenders == [], f"read the environment through a settings module instead: {offenders}"


ARCHITECTURE = ROOT / "docs" / "architecture.md"


def _imports_between_packages() -> set[tuple[str, str]]:
    import grimp

    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    return {
        (importer, imported)
        for importer in PACKAGES
        for imported in PACKAGES
        if importer != imported and graph.direct_import_exists(importer=importer, imported=imported, as_packages=True)
    }


def _drawn_arrows() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The solid (existing) and dotted (designed, not built yet) arrows of the page's package diagram."""
    block = re.search(r"```mermaid\n(.*?)```", ARCHITECTURE.read_text(), re.DOTALL)
    assert block is not None, "docs/architecture.md lost its package diagram"
    solid = set(re.findall(r"^\s*(\w+) --> (\w+)\s*$", block.group(1), re.MULTILINE))
    dotted = set(re.findall(r"^\s*(\w+) -\.-> (\w+)\s*$", block.group(1), re.MULTILINE))
    return solid, dotted


def test_the_architecture_picture_is_the_import_graph() -> None:
    code = _imports_between_packages()
    solid, dotted = _drawn_arrows()
    assert sorted(code - solid) == [], "imports between packages that docs/architecture.md does not draw (solid)"
    assert sorted(solid - code) == [], "solid arrows in docs/architecture.md that no import backs: make them dotted"
    assert sorted(dotted & code) == [], "these imports now exist: draw them solid in docs/architecture.md"
    assert {p for edge in solid | dotted for p in edge} == set(PACKAGES)


def _module_exists(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_every_module_the_architecture_names_exists_unless_it_is_being_built() -> None:
    named = re.compile(rf"`((?:{'|'.join(PACKAGES)})(?:\.\w+)+)`")
    missing = [
        name
        for paragraph in ARCHITECTURE.read_text().split("\n\n")
        if "being built" not in paragraph
        for name in named.findall(paragraph)
        if not _module_exists(name)
    ]
    built = [name for name in named.findall(ARCHITECTURE.read_text()) if _module_exists(name)]
    assert missing == []
    assert len(built) >= 30, "the flows should name the modules that carry them"
