"""The browser-test harness of the web UI: Debian's chromium driven by Playwright (never a browser
Playwright downloads), pages opened on a real ``gitloop serve``, and screenshots for ``make screenshots``.

``ui_browser`` (session) is the one headless chromium of the run; ``ui_page(browser, serve, path)``
opens ``path`` of a ``ServeProcess`` at a laptop's 1366×768, logged in as ``admin`` by the serve's API
token in the session cookies (``logged_in=False``: no cookies), and fails the test on any uncaught
script error; ``screenshot(page, name)`` saves ``$GITLOOP_SCREENSHOTS/<name>.png`` (under 300 KB) when
that variable names a directory, and does nothing otherwise. Tests find elements by role and accessible
name (the UI's stable test interface) and wait with ``expect``, never with sleeps."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from gitloop.api.access import COOKIE, CSRF_COOKIE, csrf_token

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/realparts.py
sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess

from realparts import missing

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOT_LIMIT = 300_000
"""Bytes: every screenshot in docs/ stays under this (issue 10)."""

expect.set_options(timeout=20_000)  # a loaded 2-core machine: generous, still far from the test timeout


@pytest.fixture(scope="session")
def ui_browser() -> Iterator[Browser]:
    """The headless Debian chromium every browser test of the run shares."""
    if not Path(CHROMIUM).is_file():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def ui_page(
    browser: Browser, serve: ServeProcess, path: str = "/ui/applications", *, logged_in: bool = True
) -> Iterator[Page]:
    """A page of ``serve`` at ``path`` in a fresh browser context (its own cookies); fails the test on
    an uncaught script error of the page."""
    context = browser.new_context(viewport=VIEWPORT, base_url=serve.url)
    if logged_in and serve.token:
        context.add_cookies(
            [
                {
                    "name": COOKIE,
                    "value": serve.token,
                    "url": serve.url,
                    "httpOnly": True,
                    "sameSite": "Strict",
                },
                {
                    "name": CSRF_COOKIE,
                    "value": csrf_token(serve.token),
                    "url": serve.url,
                    "sameSite": "Strict",
                },
            ]
        )
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(path)
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught script errors in the page: {errors}"


def screenshot(page: Page, name: str) -> Path | None:
    """Save the viewport as ``$GITLOOP_SCREENSHOTS/<name>.png`` (``make screenshots``); None when unset."""
    where = os.environ.get("GITLOOP_SCREENSHOTS", "")
    if not where:
        return None
    target = Path(where) / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), animations="disabled", caret="hide")
    size = target.stat().st_size
    assert size < SCREENSHOT_LIMIT, f"{target} is {size} bytes: over the {SCREENSHOT_LIMIT} limit of docs/"
    return target
