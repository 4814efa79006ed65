"""The web UI's front door in Debian's chromium against a real ``gitloop serve``: a visitor without a
session is sent to the login page and back to the page they asked for; a wrong password is refused on
the page, and the sixth failure in a row says how long to wait; logging out ends the session. A server
with anonymous access on never shows a login page."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from ui_support import UiBrowser, screenshot, ui_page

sys.path.insert(0, str(Path(__file__).parents[1] / "serve"))  # the serve tests' process helpers
from serve_process import GITLOOP, ServeProcess, free_port, serve_env

pytestmark = pytest.mark.integration

PASSWORD = "ui-admin-pass-1"


def _serve(tmp_path: Path, *, anonymous: bool) -> ServeProcess:
    """A server with no Applications (the front door needs none), ``admin`` with ``PASSWORD``."""
    config = tmp_path / "serve.yaml"
    auth = "auth: {anonymous: true}\n" if anonymous else ""
    config.write_text(textwrap.dedent(f"listen: 127.0.0.1:{free_port()}\n") + auth)
    env = serve_env(tmp_path / "state")
    made = subprocess.run(
        [GITLOOP, "account", "create", "admin", "--config", str(config), "--password-file", "-"],
        input=f"{PASSWORD}\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return ServeProcess(config, env)


def test_login_redirects_back_refuses_a_wrong_password_and_logs_out(
    ui_browser: UiBrowser, tmp_path: Path
) -> None:
    with _serve(tmp_path, anonymous=False) as serve:
        answer = httpx.get(f"{serve.url}/ui/applications?health=Healthy")
        assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        with ui_page(ui_browser, serve, "/ui/applications?health=Healthy", logged_in=False) as page:
            expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2Fapplications%3Fhealth%3DHealthy$"))
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill("not-the-password")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("alert")).to_have_text("Invalid username or password.")
            expect(page.get_by_label("Password")).to_be_focused()
            screenshot(page, "login")

            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            expect(page).to_have_url(re.compile(r"/ui/applications\?health=Healthy$"))
            expect(page.get_by_role("heading", name="Applications")).to_be_visible()
            expect(page.get_by_label("Logged in as admin")).to_be_visible()
            expect(page.get_by_role("link", name="Applications")).to_have_attribute("aria-current", "page")

            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("button", name="Log in")).to_be_visible()
            page.goto("/ui/applications")
            expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2Fapplications$"))

            # Too many failures for one name: the server's 429 and its Retry-After, said on the page.
            page.get_by_label("Username").fill("mallory")
            for _ in range(5):  # each click waits for the button, disabled until the last answer came
                page.get_by_label("Password").fill("guess")
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_role("alert")).to_have_text("Invalid username or password.")
            page.get_by_label("Password").fill("guess")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("alert")).to_have_text(
                re.compile(r"^Too many failed logins: try again in \d+s\.$")
            )
            expect(page.get_by_role("button", name="Log in")).to_be_disabled()


def test_an_anonymous_server_shows_no_login(ui_browser: UiBrowser, tmp_path: Path) -> None:
    with (
        _serve(tmp_path, anonymous=True) as serve,
        ui_page(ui_browser, serve, "/ui/login?next=/ui/applications", logged_in=False) as page,
    ):
        expect(page).to_have_url(re.compile(r"/ui/applications$"))
        expect(page.get_by_role("heading", name="Applications")).to_be_visible()
        expect(page.get_by_text("anonymous")).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
        expect(page.get_by_label("Password")).to_have_count(0)
