"""Where commands write their results: never over one of their inputs, never over an existing file or folder
unless asked to (``--force``), and atomically.

An output is first written under a temporary name beside its final place (same folder, so same file system)
and renamed onto it only once complete: a reader, or a later run, sees the previous output or the whole new
one, never half of one, and a failure leaves the previous output as it was.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> target = check_output(folder / "scores.csv", inputs=[folder / "in.csv"])
>>> with atomic_output(target) as partial:
...     _ = partial.write_text("score\\n0.5\\n")
>>> target.read_text()
'score\\n0.5\\n'
>>> try:
...     check_output(target)
... except OutputPathError as error:
...     print(str(error).endswith("already exists; pass --force to replace it, or choose another path"))
True
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import OutputPathError


def check_output(path: Path, *, inputs: Sequence[Path] = (), force: bool = False, folder: bool = False) -> Path:
    """``path`` if a command may write its result there: it is none of ``inputs`` (not even with ``force``),
    unless ``force`` nothing is there yet (for a ``folder``: nothing or an empty folder), and its folder can
    take a new file. Commands call it before their work, so that a bad output path costs nothing."""
    for source in inputs:
        if _same_file(path, source):
            raise OutputPathError(f"{path} is also an input of this command; write the result to another path")
    if path.is_dir() and not folder:
        raise OutputPathError(f"{path} is a folder; give a file name for the result")
    if path.exists() and folder and not path.is_dir():
        raise OutputPathError(f"{path} is a file; give a folder for the results")
    occupied = path.exists() and not (folder and path.is_dir() and not any(path.iterdir()))
    if occupied and not force:
        raise OutputPathError(f"{path} already exists; pass --force to replace it, or choose another path")
    _writable(path.parent)
    return path


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write the output into; renamed onto ``path`` when the block ends,
    deleted if it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def atomic_folder(path: Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` to write the outputs into; it takes the place of ``path`` (and of what
    was there, which is removed) when the block ends, and is deleted if it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield partial
        if path.exists():
            # A folder cannot be renamed onto a non-empty one: the old one steps aside first, and goes last.
            previous = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.previous")
            path.rename(previous)
            partial.rename(path)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            partial.rename(path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _writable(folder: Path) -> None:
    """Refuse, before any work is done, a folder that cannot take a new file (or be created)."""
    existing = folder
    while not existing.exists():  # the missing folders will be created inside the nearest one that exists
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{existing} is a file, so nothing can be written under it; choose another path")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise OutputPathError(
            f"cannot write in {existing} ({error.strerror or error}); choose a folder you may write to"
        ) from None


def _same_file(a: Path, b: Path) -> bool:
    if a.absolute() == b.absolute() or a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: not the same file
        return False
