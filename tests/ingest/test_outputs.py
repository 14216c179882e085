"""Where commands write: never over an input, never over an existing file or folder without --force, into a
folder that can take a file (checked before any work), and atomically (issue 12, point 8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.errors import OutputPathError
from ingest.outputs import atomic_folder, atomic_output, check_output


def test_an_output_is_never_an_input_even_with_force(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("x\n1\n")
    for path in (data, tmp_path / "." / "in.csv"):
        with pytest.raises(OutputPathError, match="also an input"):
            check_output(path, inputs=[data], force=True)
    link = tmp_path / "link.csv"
    os.link(data, link)  # the same file under another name
    with pytest.raises(OutputPathError, match="also an input"):
        check_output(link, inputs=[data], force=True)


def test_an_existing_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    out.write_bytes(b"old")
    with pytest.raises(OutputPathError, match="already exists; pass --force"):
        check_output(out)
    assert check_output(out, force=True) == out
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output(tmp_path)
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty", folder=True) == tmp_path / "empty"
    with pytest.raises(OutputPathError, match="already exists"):
        check_output(tmp_path, folder=True)


def test_an_output_under_a_file_or_an_unwritable_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError, match="is a file, so nothing can be written under it"):
        check_output(tmp_path / "file" / "sub" / "out.parquet")
    with pytest.raises(OutputPathError, match="cannot write in /proc"):
        check_output(Path("/proc/out.parquet"))
    assert check_output(tmp_path / "new" / "deeper" / "out.parquet").name == "out.parquet"
    assert not (tmp_path / "new").exists()  # checking creates nothing


def _interrupted_write(out: Path) -> None:
    with atomic_output(out) as partial:
        partial.write_text("half of the new one")
        raise RuntimeError("the disk filled up")


def _interrupted_folder(out: Path) -> None:
    with atomic_folder(out) as partial:
        (partial / "index.html").write_text("half")
        raise RuntimeError("interrupted")


def test_a_failed_write_leaves_the_previous_file_and_no_partial_one(tmp_path: Path) -> None:
    out = tmp_path / "stats.json"
    out.write_text("previous")
    with pytest.raises(RuntimeError, match="the disk filled up"):
        _interrupted_write(out)
    assert out.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]
    with atomic_output(out) as partial:
        partial.write_text("new")
        assert out.read_text() == "previous"  # nobody sees the new file before it is complete
    assert out.read_text() == "new"


def test_a_folder_output_replaces_the_previous_one_whole_or_not_at_all(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "old.html").write_text("old")
    with pytest.raises(RuntimeError, match="interrupted"):
        _interrupted_folder(out)
    assert sorted(p.name for p in out.iterdir()) == ["old.html"]
    with atomic_folder(out) as partial:
        (partial / "index.html").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
