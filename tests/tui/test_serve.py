"""``nn-tui serve``: the app for web browsers, through textual-serve, on loopback only."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tui.cli import main
from tui.cli import serve as serve_module

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_serve_answers_a_browser_and_stops_when_asked(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--port", str(port)],
        cwd=tmp_path, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        page = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/", timeout=2) as reply:
                    page = (reply.status, reply.headers.get_content_type(), reply.read())
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        assert server.poll() is None, server.stderr.read().decode()
        assert page is not None, "no answer within 20 s"
        status, content_type, body = page
        assert status == 200 and content_type == "text/html"
        assert b"<html" in body.lower()
        assert f"ws://{LOOPBACK}:{port}/ws".encode() in body  # the page connects back here
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            pytest.fail("the server did not stop on SIGTERM")
    assert server.returncode is not None
    out = server.stdout.read().decode() + server.stderr.read().decode()
    assert "Traceback" not in out
    assert "warning" not in out  # loopback: nothing to warn about


def test_the_served_command_is_this_python_running_the_cli():
    command = serve_module.served_command(["--preset", "dlp-xor"])
    assert shlex.split(command) == [sys.executable, "-m", "tui.cli", "--preset", "dlp-xor"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("localhost", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False),
     ("example.org", False)],
)
def test_is_loopback(host, loopback):
    assert serve_module.is_loopback(host) is loopback


def test_public_url():
    assert serve_module.public_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert serve_module.public_url("::1", 8000) == "http://[::1]:8000"
    assert serve_module.public_url("0.0.0.0", 8080) == "http://127.0.0.1:8080"


class FakeServer:
    """Stands in for textual-serve: records what it was given, listens nowhere."""

    made: list[FakeServer] = []

    def __init__(self, command, host, port, title, public_url):
        self.command, self.host, self.port, self.url = command, host, port, public_url
        self.served = False
        FakeServer.made.append(self)

    def serve(self, debug: bool = False) -> None:
        self.served = True


@pytest.fixture
def fake_server(monkeypatch):
    import textual_serve.server

    FakeServer.made = []
    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    monkeypatch.setattr(serve_module, "_check_free", lambda host, port: None)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # PYTHONPATH is set for the children
    return FakeServer.made


def test_a_network_address_is_served_with_a_warning(capsys, fake_server):
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("nn-tui: warning: listening on 0.0.0.0, not on the loopback address")
    assert "anyone who can reach port 8123" in err
    assert fake_server[0].served and fake_server[0].host == "0.0.0.0"


def test_serve_passes_the_preset_and_an_absolute_config_on(capsys, fake_server, tmp_path,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("exp.toml").write_text("hidden = [3]\n")
    assert main(["serve", "--preset", "dlp-linear", "--config", "exp.toml"]) == 0
    assert capsys.readouterr().err == ""
    server = fake_server[0]
    assert (server.host, server.port, server.url) == (LOOPBACK, 8000, "http://127.0.0.1:8000")
    assert shlex.split(server.command)[3:] == [
        "--preset", "dlp-linear", "--config", str(tmp_path / "exp.toml"),
    ]
    assert str(ROOT) in os.environ["PYTHONPATH"].split(os.pathsep)


def test_bad_serve_input(capsys):
    for argv, needle in (
        (["--port", "99999"], '--port: the port must be a whole number from 1 to 65535'),
        (["--port", "http"], '--port: the port must be a whole number'),
        (["--preset", "nope"], "--preset: preset must be one of"),
    ):
        code = main(["serve", *argv])
        captured = capsys.readouterr()
        assert code == 2 and captured.out == "" and needle in captured.err, argv
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
        assert f"--port: port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
