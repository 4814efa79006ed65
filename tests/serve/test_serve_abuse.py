"""Abuse over real sockets against a real ``gitloop serve`` process: clients that stall or trickle a
request head or body are dropped after the configured time (408), clients that go away cost one short
log line and no traceback, the server keeps answering, and ``/metrics`` counts every refusal."""

from __future__ import annotations

import socket
import struct
import textwrap
import time
from pathlib import Path

import pytest
from serve_fakes import TESTDATA, github_headers, github_push, refused_counts
from serve_process import ServeProcess, serve_env

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
"""``readHeaderTimeout`` and ``readBodyTimeout`` of these tests, in seconds."""

DROPPED_WITHIN = 10.0
"""How long a stalled connection may live at most here: the timeout and a loaded machine's slack."""


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "serve.yaml"
    config.write_text(
        textwrap.dedent(f"""\
            listen: 127.0.0.1:0
            readHeaderTimeout: {TIMEOUT:g}s
            readBodyTimeout: {TIMEOUT:g}s
            maxBodyBytes: 1048576
            eventListeners:
              - name: github
                triggers: [{TESTDATA / "listeners.yaml"}]
                pipelines: [{TESTDATA / "pipeline.yaml"}]
                secrets: [{TESTDATA / "secrets.yaml"}]
            """)
    )
    return config


def _address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").rpartition(":")
    return host, int(port)


def _webhook(ref: str = "refs/heads/not-built") -> tuple[bytes, bytes]:
    """The head and body of a signed push webhook (to a branch no trigger builds: nothing runs)."""
    body = github_push(ref=ref)
    headers = {"Host": "gitloop", "Content-Length": str(len(body)), **github_headers(body)}
    head = "POST /hooks/github HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode(), body


def _drained(sock: socket.socket, deadline: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed it."""
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server did not drop the connection (got {received[:80]!r})") from None
        except ConnectionResetError:
            return received, time.monotonic()
        if not chunk:
            return received, time.monotonic()
        received += chunk


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a client that crashed would."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_200_aborted_and_stalled_connections_are_dropped_with_one_short_line_each(tmp_path: Path) -> None:
    with ServeProcess(_config(tmp_path), serve_env(tmp_path / "state")) as serve:
        address = _address(serve.url)
        started_lines = len(serve.output().splitlines())
        stalled_heads: list[socket.socket] = []
        stalled_bodies: list[socket.socket] = []
        for number in range(200):
            head, body = _webhook()
            sock = socket.create_connection(address)
            kind = number % 5
            if kind == 0:  # half the body, then gone (every other one with a reset)
                sock.sendall(head + body[: len(body) // 2])
                _reset(sock) if number % 2 else sock.close()
            elif kind == 1:  # the whole webhook, gone before the answer
                sock.sendall(head + body)
                sock.close()
            elif kind == 2:  # part of the head, then gone
                sock.sendall(head[:40])
                sock.close()
            elif kind == 3:  # part of the head, then nothing
                sock.sendall(head[:40])
                stalled_heads.append(sock)
            else:  # the head and half the body, then nothing
                sock.sendall(head + body[: len(body) // 2])
                stalled_bodies.append(sock)
        sent = last = time.monotonic()
        for stalled in stalled_heads + stalled_bodies:
            answer, closed = _drained(stalled, sent + DROPPED_WITHIN)
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
            stalled.close()
            last = max(last, closed)
        assert last - sent < DROPPED_WITHIN

        with serve.client() as client:
            assert client.get("/healthz").json()["status"] == "ok"
            refused = refused_counts(client.get("/metrics").text)
        assert refused[("header-timeout", "408")] == 40
        assert refused[("body-timeout", "408")] == 40
        assert 40 <= refused[("aborted", "499")] <= 80  # kind 1 when its close came before the read
        assert serve.stop() == 0
    log = serve.output()
    lines = log.splitlines()[started_lines:]
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[:3000]
    assert len(lines) <= 250, "\n".join(lines[:50])
    assert max(len(line) for line in lines) < 400
    assert sum("request head not complete within 1s" in line for line in lines) == 40
    assert sum("body not complete within 1s" in line for line in lines) == 40
    assert sum("aborted by the client" in line for line in lines) >= 40


def test_trickling_is_bounded_but_a_slow_client_on_time_is_served(tmp_path: Path) -> None:
    with ServeProcess(_config(tmp_path), serve_env(tmp_path / "state")) as serve:
        address = _address(serve.url)
        head, body = _webhook()

        # Slowloris: a byte of the head every 0.2s keeps the connection busy, not alive.
        with socket.create_connection(address) as trickle:
            started = time.monotonic()
            trickle.settimeout(0.2)
            closed = False
            for byte in head[:-2]:
                try:
                    trickle.send(bytes([byte]))
                    trickle.recv(65536)  # the 408, or the end: either way the server is done
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    pass
                closed = True
                break
            assert closed and time.monotonic() - started < DROPPED_WITHIN

        # The body trickled the same way: 408 once readBodyTimeout has passed since the headers.
        with socket.create_connection(address) as trickle:
            trickle.sendall(head)
            started = time.monotonic()
            trickle.settimeout(0.2)
            answer = b""
            for byte in body:
                try:
                    trickle.send(bytes([byte]))
                    answer += trickle.recv(65536)
                    break
                except TimeoutError:
                    continue
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert time.monotonic() - started < DROPPED_WITHIN

        # Head and body in pieces, each well within its time: answered as usual.
        with socket.create_connection(address) as slow:
            for piece in (head[:30], head[30:], body[:20], body[20:]):
                slow.sendall(piece)
                time.sleep(TIMEOUT / 10)
            answer, _ = _drained_response(slow)
        assert answer.startswith(b"HTTP/1.1 200 ") and b"no trigger matched" in answer, answer
        assert serve.stop() == 0


def _drained_response(sock: socket.socket) -> tuple[bytes, float]:
    """One response on a keep-alive connection: read until its JSON body is complete."""
    sock.settimeout(DROPPED_WITHIN)
    received = b""
    while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received, time.monotonic()


def test_metrics_count_refusals_of_a_real_server(tmp_path: Path) -> None:
    with ServeProcess(_config(tmp_path), serve_env(tmp_path / "state")) as serve, serve.client() as client:
        body = github_push()
        assert (
            client.post("/hooks/github", content=body, headers=github_headers(body, secret="x")).status_code
            == 401
        )
        junk = b"{not json"
        assert client.post("/hooks/github", content=junk, headers=github_headers(junk)).status_code == 400
        big = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
        assert client.post("/hooks/github", content=big, headers=github_headers(big)).status_code == 413
        assert client.get("/hooks/github").status_code == 405
        assert client.post("/hooks/unknown", content=body).status_code == 404
        with socket.create_connection(_address(serve.url)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nX-Pad: " + b"p" * (70 * 1024) + b"\r\n\r\n")
            answer, _ = _drained(sock, time.monotonic() + DROPPED_WITHIN)
            assert answer.startswith(b"HTTP/1.1 400 ")
        assert client.get("/healthz").status_code == 200
        assert refused_counts(client.get("/metrics").text) == {
            ("unauthorized", "401"): 1.0,
            ("bad-request", "400"): 1.0,
            ("too-large", "413"): 1.0,
            ("method-not-allowed", "405"): 1.0,
            ("not-found", "404"): 1.0,
            ("head-too-large", "400"): 1.0,
        }
        assert serve.stop() == 0
