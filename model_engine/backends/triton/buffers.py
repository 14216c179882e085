"""Device buffers reused across calls: no allocation per request once the largest batch has been seen."""

from __future__ import annotations

import torch

MIN_ROWS = 1024


class BufferPool:
    """Named buffers on one device, each grown to a power-of-two row capacity and then reused.

    ``get(name, rows, width)`` returns a ``[rows, width]`` view of the buffer called ``name``; it allocates only
    when the request outgrows the buffer (``allocations`` counts those, which tests use to check steady state).
    Host staging buffers are pinned when the device is a GPU so copies can run asynchronously.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.allocations = 0
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, rows: int, width: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return self._take(name, rows, width, dtype, self.device, pin=False)

    def host(self, name: str, rows: int, width: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """A host buffer for transfers to and from the device (pinned when the device is CUDA)."""
        return self._take("host:" + name, rows, width, dtype, torch.device("cpu"), pin=self.device.type == "cuda")

    def _take(
        self, name: str, rows: int, width: int, dtype: torch.dtype, device: torch.device, *, pin: bool
    ) -> torch.Tensor:
        need = rows * width
        buffer = self._buffers.get(name)
        if buffer is None or buffer.dtype != dtype or buffer.numel() < need:
            capacity = max(MIN_ROWS, 1 << max(0, rows - 1).bit_length()) * width
            buffer = torch.empty(capacity, dtype=dtype, device=device, pin_memory=pin)
            self._buffers[name] = buffer
            self.allocations += 1
        return buffer[:need].view(rows, width)

    def clear(self) -> None:
        self._buffers.clear()
