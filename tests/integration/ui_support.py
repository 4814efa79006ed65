"""The browser-test harness of the web UI: Debian's chromium driven by Playwright (never a browser
Playwright downloads), pages opened on a real ``gitloop serve``, and screenshots for ``make screenshots``.

``ui_browser`` (session) is the chromium of the run: it checks once that chromium is installed, and runs
it only while a page is open, because Playwright's sync API marks an asyncio loop as running in this
thread for as long as it runs, and ``asyncio.run`` (the world fixtures' cleanups) refuses to start then.
``ui_page(ui_browser, serve, path)`` opens ``path`` of a ``ServeProcess`` at a laptop's 1366×768, logged
in as ``admin`` by the serve's API token in the session cookies (``logged_in=False``: no cookies), and
fails the test on any uncaught script error; pages may be nested (one chromium serves them all). Inside
a page, run a coroutine with ``off_loop``. ``screenshot(page, name)`` saves
``$GITLOOP_SCREENSHOTS/<name>.png`` (under 300 KB) when that variable names a directory, and does nothing
otherwise. Tests find elements by role and accessible name (the UI's stable test interface) and wait
with ``expect``, never with sleeps."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright

from gitloop.api.access import COOKIE, CSRF_COOKIE, csrf_token

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/realparts.py
sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import ServeProcess

from realparts import missing

T = TypeVar("T")

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
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
SCREENSHOT_LIMIT = 300_000
"""Bytes: every screenshot in docs/ stays under this (issue 10)."""

expect.set_options(timeout=20_000)  # a loaded 2-core machine: generous, still far from the test timeout


class UiBrowser:
    """Debian's chromium under Playwright, started by the first open page and stopped with the last."""

    def __init__(self) -> None:
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._pages = 0

    @contextmanager
    def running(self) -> Iterator[Browser]:
        if self._browser is None:
            self._playwright = sync_playwright().start()
            try:
                self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            except BaseException:
                self._playwright.stop()
                self._playwright = None
                raise
        self._pages += 1
        try:
            yield self._browser
        finally:
            self._pages -= 1
            if self._pages == 0:
                self._browser.close()
                assert self._playwright is not None
                self._playwright.stop()
                self._browser = self._playwright = None


@pytest.fixture(scope="session")
def ui_browser() -> UiBrowser:
    """The headless Debian chromium every browser test of the run uses (see the module's docstring)."""
    if not Path(CHROMIUM).is_file():
        missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    return UiBrowser()


def off_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a thread of its own: what a test runs while a page is open."""
    with ThreadPoolExecutor(1) as runner:
        return runner.submit(asyncio.run, coroutine).result()


@contextmanager
def ui_page(
    ui_browser: UiBrowser, serve: ServeProcess, path: str = "/ui/applications", *, logged_in: bool = True
) -> Iterator[Page]:
    """A page of ``serve`` at ``path`` in a fresh browser context (its own cookies); fails the test on
    an uncaught script error of the page."""
    with ui_browser.running() as browser:
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
