"""Weights and golden batches as ``.npz`` written byte-for-byte reproducibly, read without pickle.

``numpy.savez`` stamps the current time into the zip entries, which would make two saves of one model differ;
the entries here carry a fixed timestamp, so the same arrays always give the same bytes (and content id).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from model_engine.errors import ArtifactError

Array = np.ndarray[Any, Any]
_EPOCH = (1980, 1, 1, 0, 0, 0)


def write_npz(path: Path, arrays: Mapping[str, Array]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            array = np.asarray(arrays[name])
            if array.dtype.hasobject:
                raise ArtifactError(f"array {name!r} holds Python objects; artifacts store plain numbers only")
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.array(array, order="C"), allow_pickle=False)  # keeps 0-d shapes
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


def read_npz(path: Path) -> dict[str, Array]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ArtifactError(f"{path} is not a readable tensor archive: {exc}") from exc
