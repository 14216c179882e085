"""KBinsDiscretizer: inner bin edges per feature and the encoding of the bin index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model_engine.converters.params.encoder import OneHotParams
from model_engine.converters.params.fitted import require_fitted


@dataclass(frozen=True)
class BinningParams:
    """``bin[:, j] = count(inner_edges[j, :] <= x[:, j])`` (scikit-learn's ``searchsorted(side="right")``).

    Features have different bin counts: rows of ``inner_edges`` are padded with NaN, which no comparison
    counts. ``one_hot`` is the encoding applied to the bin indices, ``None`` for ``encode="ordinal"``.
    """

    inner_edges: npt.NDArray[np.float64]
    n_bins: npt.NDArray[np.int64]
    one_hot: OneHotParams | None

    @property
    def n_features(self) -> int:
        return int(self.n_bins.shape[0])

    @property
    def n_outputs(self) -> int:
        return self.n_features if self.one_hot is None else self.one_hot.n_outputs


def binning_params(discretizer: Any) -> BinningParams:
    """Read a fitted KBinsDiscretizer (any strategy; encodings "ordinal", "onehot", "onehot-dense")."""
    require_fitted(discretizer)
    n_bins = np.asarray(discretizer.n_bins_, dtype=np.int64).copy()
    width = max(int(n_bins.max()) - 1, 0) if n_bins.size else 0
    inner = np.full((n_bins.shape[0], width), np.nan)
    for j, edges in enumerate(discretizer.bin_edges_):
        interior = np.asarray(edges, dtype=np.float64)[1:-1]
        inner[j, : interior.shape[0]] = interior
    one_hot = None
    if discretizer.encode != "ordinal":
        # The bins of feature j are the categories 0..n_bins[j]-1 of a plain (no drop) one-hot block.
        offsets = np.concatenate([[0], np.cumsum(n_bins)[:-1]]).astype(np.int64)
        one_hot = OneHotParams(
            n_features=int(n_bins.shape[0]),
            n_outputs=int(n_bins.sum()),
            widths=n_bins.copy(),
            feature=np.repeat(np.arange(n_bins.shape[0], dtype=np.int64), n_bins),
            value=np.concatenate([np.arange(n, dtype=np.float64) for n in n_bins]) if n_bins.size else np.zeros(0),
            column=np.concatenate([o + np.arange(n, dtype=np.int64) for o, n in zip(offsets, n_bins, strict=True)])
            if n_bins.size
            else np.zeros(0, dtype=np.int64),
            unknown_column=np.full(n_bins.shape[0], -1, dtype=np.int64),
        )
    return BinningParams(inner_edges=inner, n_bins=n_bins, one_hot=one_hot)
