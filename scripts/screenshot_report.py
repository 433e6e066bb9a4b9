#!/usr/bin/env python3
"""Open an adaptlab HTML report in headless Chromium and save a full-page screenshot.

    python scripts/screenshot_report.py runs/<run-id>/report.html report.png --width 1280

The page runs with the network cut off: any request that is not for the file itself is
blocked and reported, as are console errors and uncaught exceptions, and the exit status is 1
when there were any. Needs the system Chromium (Debian: ``apt-get install -y chromium``) and
Playwright (a dev dependency, never imported by adaptlab itself). The report's browser test
drives pages through `open_report` below.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PLOTS_RENDERED = """() => {
  const plots = Array.from(document.querySelectorAll(".plot"));
  return plots.every((plot) => plot.classList.contains("js-plotly-plot") && plot.querySelector(".main-svg"));
}"""


@contextlib.contextmanager
def open_report(
    report: Path, *, width: int = 1280, timeout_s: float = 15.0
) -> Iterator[tuple[Page, list[str]]]:
    """Load `report` and wait until every chart has rendered; yields the page and a live list
    of problems (console errors, page errors, network requests), in the order they happened."""
    problems: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            problems.append(f"network request: {route.request.url}")
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(timeout_s * 1000)
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.route("**/*", offline)
            page.goto(report.resolve().as_uri(), wait_until="load")
            page.wait_for_function(PLOTS_RENDERED)
            yield page, problems
        finally:
            browser.close()


def screenshot(page: Page, out: Path, *, max_height: int | None = None) -> Path:
    """Save a full-page PNG of `page` to `out` (its folder is created), or only its top
    `max_height` pixels (a README picture of the headline and the first charts)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header is drawn where the page is scrolled
    if max_height is None:
        page.screenshot(path=str(out), full_page=True)
    else:
        width = page.viewport_size["width"] if page.viewport_size else 1280
        clip = {"x": 0, "y": 0, "width": width, "height": max_height}
        page.screenshot(path=str(out), full_page=True, clip=clip)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, metavar="REPORT_HTML")
    parser.add_argument("out", type=Path, metavar="OUT_PNG")
    parser.add_argument("--width", type=int, default=1280, help="viewport width in pixels (default 1280)")
    parser.add_argument("--max-height", type=int, help="keep only the top this many pixels (default: all)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    if not args.report.is_file():
        parser.error(f"{args.report}: no such file")
    with open_report(args.report, width=args.width) as (page, problems):
        screenshot(page, args.out, max_height=args.max_height)
    for problem in problems:
        print(f"screenshot_report: {problem}", file=sys.stderr)
    print(args.out)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
