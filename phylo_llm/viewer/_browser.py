"""Headless Chromium for the explorer's tests, benchmark and screenshots (Playwright, the system's browser).

Nothing here downloads a browser: Playwright drives the Chromium the machine
has (Debian's ``chromium`` package: ``/usr/bin/chromium``), or the one named
by ``PHYLO_LLM_CHROMIUM``. Not part of the library's public names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

#: Flags that work on a headless machine without a GPU, sandbox or network; no background traffic.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def find_chromium() -> str | None:
    """The Chromium executable to drive, or ``None`` when there is none (or Playwright is missing)."""
    try:
        import playwright  # noqa: F401  (only whether it is installed)
    except ImportError:
        return None
    for candidate in (os.environ.get("PHYLO_LLM_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def why_no_browser() -> str:
    """The reason :func:`find_chromium` found nothing, for test skips."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; its browser download is not used)"
    return "no Chromium: apt-get install chromium (or set PHYLO_LLM_CHROMIUM)"


@contextlib.contextmanager
def browser_context(width: int = 1500, height: int = 900) -> Iterator:
    """A Playwright browser context of the system's Chromium, with a fresh profile removed afterwards."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError(why_no_browser())
    profile = tempfile.mkdtemp(prefix="phylo-llm-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=executable, args=list(CHROMIUM_FLAGS), headless=True,
                viewport={"width": width, "height": height}, device_scale_factor=1,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_explorer(context, path: str, timeout_ms: float = 120_000):
    """Open an explorer file in a new page; the page, its console messages and every request it made.

    Returns ``(page, messages, requests)``: ``messages`` collects ``(type, text)`` of console messages and
    page errors, ``requests`` the URL of every request (the file itself included).
    """
    page = context.new_page()
    messages: list[tuple[str, str]] = []
    requests: list[str] = []
    page.on("console", lambda message: messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: messages.append(("pageerror", str(error))))
    page.on("request", lambda request: requests.append(request.url))

    def dialog(box) -> None:  # an alert would mean a script ran that should not have: recorded, dismissed
        messages.append(("dialog", box.message))
        box.dismiss()

    page.on("dialog", dialog)
    # Nothing may leave the file: any other request is recorded above and refused here.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto("file://" + os.path.abspath(path), timeout=timeout_ms)
    page.wait_for_function("window.phyloExplorer && window.phyloExplorer.ready === true", timeout=timeout_ms)
    return page, messages, requests
