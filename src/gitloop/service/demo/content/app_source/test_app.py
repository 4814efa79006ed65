"""Unit tests of the demo app, run by the pipeline's test task: ``python3 -m unittest -v``."""

# mypy: disable-error-code="import-not-found"
# (gitloop's own type check sees this directory as package data, where ``app`` is not top-level.)

from __future__ import annotations

import unittest
from typing import Any

import app


def _get(path: str, query: str = "") -> tuple[str, str]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"] = status

    body = b"".join(app.app({"PATH_INFO": path, "QUERY_STRING": query}, start_response))
    return str(answer["status"]), body.decode("utf-8")


class GreetingTest(unittest.TestCase):
    def test_greets_everyone(self) -> None:
        self.assertTrue(app.greeting().startswith("Hello"))
        self.assertTrue(app.greeting().endswith("!"))

    def test_greets_by_name(self) -> None:
        self.assertEqual(app.greeting("Ada"), f"{app.MESSAGE}, Ada!")


class HttpTest(unittest.TestCase):
    def test_root_answers_the_greeting(self) -> None:
        self.assertEqual(_get("/", "name=Ada"), ("200 OK", f"{app.MESSAGE}, Ada!\n"))

    def test_health_check(self) -> None:
        self.assertEqual(_get("/healthz"), ("200 OK", "ok\n"))

    def test_unknown_path(self) -> None:
        self.assertEqual(_get("/nope")[0], "404 Not Found")


if __name__ == "__main__":
    unittest.main()
