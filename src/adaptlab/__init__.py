"""adaptlab: prompt it, fine-tune it, or both? Measure each rung of the adaptation ladder on your
own task and get a recommendation that cites the numbers."""

from __future__ import annotations

import importlib.metadata

try:
    __version__ = importlib.metadata.version("adaptlab")
except importlib.metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"
