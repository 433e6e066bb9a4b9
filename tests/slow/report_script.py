"""The browser half of the slow tests: scripts/screenshot_report.py, loaded as a module, once
Chromium is known to be there (missing under CI is a failure; elsewhere the test skips, its
report written but not opened)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")


def report_script() -> ModuleType:
    """`scripts/screenshot_report.py` (``open_report``, ``screenshot``), or skip without Chromium."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI")
        pytest.skip(f"{CHROMIUM} is missing: the report was written but not opened")
    path = REPO / "scripts" / "screenshot_report.py"
    spec = importlib.util.spec_from_file_location("screenshot_report", path)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script
