"""Every command in the documentation runs, so the documentation cannot rot.

The convention (docs/README.md says it to writers): a fenced block tagged ``console`` is a shell session; its
lines that start with ``$ `` are commands (a line ending in ``\\`` continues on the next), the other lines are
sample output and are not compared. The commands of one page run in order, in one ``bash`` with ``set -euo
pipefail``, in a fresh folder holding a copy of a quick demo's run folder as ``var/demo/latest``, with that
run's ``env.sh`` sourced (the registry with its champion and challenger, the audit trail, the alerts, the service
database) and ``fraud`` on the path. Services the commands start run against what the test provides, bounded in
time: Kafka commands act on a broker of the page's own (free ports, a private folder; stopped afterwards), a
command ending in ``&`` runs in the background and is stopped when the page ends, and ``fraud serve`` listens on
a free port that replaces ``8000`` in the page's commands. Blocks tagged otherwise (``shell`` for the demo
itself, which tests/scoring_api/test_demo.py runs) are not run here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scoring_api.cli import COMMANDS
from tests.conftest import ROOT, DemoRun, free_tcp_ports

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```console[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: The port the pages' ``fraud serve`` examples use; the test gives each page a free one instead.
DOCUMENTED_PORT = "8000"
#: Most seconds one page's commands may take.
PAGE_TIMEOUT_S = 600


def console_commands(text: str) -> list[str]:
    """The commands of a page's ``console`` blocks, continuation lines joined."""
    commands: list[str] = []
    for block in FENCE.findall(text):
        pending: str | None = None
        for line in block.splitlines():
            if pending is not None:
                pending += "\n" + line
                if not line.endswith("\\"):
                    commands.append(pending)
                    pending = None
            elif line.startswith("$ "):
                command = line[2:]
                if command.endswith("\\"):
                    pending = command
                else:
                    commands.append(command)
        assert pending is None, f"a command continues past the end of its block: {pending!r}"
    return commands


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


RUN_PAGES = [page for page in PAGES if console_commands(page.read_text())]


def test_the_parser_reads_commands_continuations_and_skips_output_and_other_blocks() -> None:
    text = (
        "```console\n$ fraud models list\nversion  aliases\n$ fraud audit export \\\n    --out bundle\n```\n"
        "```shell\nfraud demo\n```\n```console\n$ echo done\n```\n"
    )
    assert console_commands(text) == ["fraud models list", "fraud audit export \\\n    --out bundle", "echo done"]


def test_the_guides_and_a_page_per_command_group_exist_and_hold_commands() -> None:
    docs = ROOT / "docs"
    for guide in ("operations.md", "analysts.md", "compliance.md"):
        assert docs / guide in RUN_PAGES, f"docs/{guide} has no console block"
    groups = set(COMMANDS) | {"demo"}
    for group in sorted(groups):
        page = docs / "cli" / f"{group}.md"
        assert page.exists(), f"docs/cli/{group}.md is missing"
        runs = [c for c in console_commands(page.read_text()) if re.search(rf"(^|\s)fraud {group}\b", c)]
        assert runs or group == "demo", f"docs/cli/{group}.md runs no fraud {group} command"
    readme = (ROOT / "README.md").read_text()
    for page in sorted((docs / "cli").glob("*.md")) + [docs / g for g in ("operations.md", "analysts.md")]:
        assert str(page.relative_to(ROOT)) in readme, f"README.md does not link {page.relative_to(ROOT)}"


def _workspace(demo_run: DemoRun, folder: Path) -> dict[str, str]:
    """A copy of the demo's run folder as ``folder/var/demo/latest``; the environment of its ``env.sh``."""
    source = demo_run.run_folder
    target = folder / "var" / "demo" / source.name
    shutil.copytree(source, target, symlinks=True)
    (folder / "var" / "demo" / "latest").symlink_to(source.name)
    env_file = target / "env.sh"
    env_file.write_text(env_file.read_text().replace(str(source), str(target)))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FRAUD_")}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            environment[name] = value.strip("'")
    return environment


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.parametrize("page", RUN_PAGES, ids=_page_id)
def test_every_command_on_the_page_runs(page: Path, demo_run: DemoRun, tmp_path: Path) -> None:
    assert demo_run.returncode == 0, demo_run.output[-4000:]
    environment = _workspace(demo_run, tmp_path)
    service_port, kafka_port, controller_port = free_tcp_ports(3)
    environment.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}",
        COLUMNS="160",
        FRAUD_SCORING_PORT=str(service_port),
        FRAUD_KAFKA_RUN_DIR=str(tmp_path / "kafka"),
        FRAUD_KAFKA_PORT=str(kafka_port),
        FRAUD_KAFKA_CONTROLLER_PORT=str(controller_port),
        FRAUD_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{kafka_port}",
    )
    commands = [c.replace(f"127.0.0.1:{DOCUMENTED_PORT}", f"127.0.0.1:{service_port}") for c in console_commands(
        page.read_text())]  # fmt: skip
    commands = [re.sub(rf"--port {DOCUMENTED_PORT}\b", f"--port {service_port}", c) for c in commands]
    script = "\n".join(
        [
            "set -euo pipefail",
            # Background commands (a service) are stopped when the page ends, whatever happened.
            "trap 'jobs -p | xargs -r kill 2>/dev/null; wait 2>/dev/null || true' EXIT",
            "source var/demo/latest/env.sh",
            *(f"echo '$ '{_quoted(c)}\n{c}" for c in commands),
        ]
    )
    try:
        finished = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT_S,
            check=False,
        )
    finally:
        fraud = str(Path(sys.executable).with_name("fraud"))
        subprocess.run([fraud, "kafka", "stop"], env=environment, capture_output=True, timeout=120, check=False)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, (
        f"{_page_id(page)}: a command failed (exit {finished.returncode}):\n{output[-6000:]}"
    )


def _quoted(command: str) -> str:
    return "'" + command.replace("'", "'\\''") + "'"
