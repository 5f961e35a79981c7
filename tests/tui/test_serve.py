"""``nn-tui serve``: the command line, the real server in a subprocess, the real app over a
WebSocket. (The door's rules: ``test_serve_door.py``; a browser: ``test_serve_browser.py``.)"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
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


TOKEN = "serve-test-token-42"


def start_server(tmp_path, *args: str) -> tuple[subprocess.Popen, int]:
    """``nn-tui serve`` on a free loopback port, with a known token (NN_TUI_TOKEN)."""
    port = free_port()
    env = subprocess_env()
    env["NN_TUI_TOKEN"] = TOKEN
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve", "--port", str(port), *args],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    return server, port


def fetch_page(server: subprocess.Popen, url: str, seconds: float = 20):
    """(status, content type, body) of ``url`` once the server answers; 403s included."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return reply.status, reply.headers.get_content_type(), reply.read()
        except urllib.error.HTTPError as refused:
            return refused.code, refused.headers.get_content_type(), refused.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    assert server.poll() is None, server.stderr.read().decode()
    pytest.fail(f"no answer within {seconds} s")


def stop_server(server: subprocess.Popen) -> str:
    """SIGTERM, then what the server printed; fails if it does not stop."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        pytest.fail("the server did not stop on SIGTERM")
    return server.stdout.read().decode() + server.stderr.read().decode()


def test_serve_answers_a_browser_with_the_token_and_stops_when_asked(tmp_path):
    server, port = start_server(tmp_path, "--root", str(tmp_path))
    base = f"http://{LOOPBACK}:{port}"
    try:
        status, content_type, body = fetch_page(server, f"{base}/")
        assert (status, content_type) == (403, "text/plain")  # no token, no page
        assert body == (b"nn-tui: refused: missing or wrong token; open the address "
                        b"nn-tui serve printed, with its ?token=\n")
        status, content_type, body = fetch_page(server, f"{base}/?token={TOKEN}")
        assert status == 200 and content_type == "text/html"
        assert b"<html" in body.lower()
        assert f"ws://{LOOPBACK}:{port}/ws".encode() in body  # the page connects back here
    finally:
        out = stop_server(server)
    assert f"nn-tui serve: open {base}/?token={TOKEN}\n" in out
    assert f"files: only in {tmp_path.resolve()} (--root)" in out
    assert "Traceback" not in out
    assert "warning" not in out  # loopback: nothing to warn about


def children(pid: int) -> set[int]:
    """The processes ``pid`` started and that still run (Linux: /proc)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return {c for c in found if Path(f"/proc/{c}/stat").read_text().split()[2] != "Z"}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
async def test_the_served_app_ends_when_its_socket_closes(tmp_path):
    """The real app: it draws into the socket; once the socket closes its process ends."""
    import aiohttp

    server, port = start_server(tmp_path, "--root", str(tmp_path))
    try:
        fetch_page(server, f"http://{LOOPBACK}:{port}/?token={TOKEN}")
        async with aiohttp.ClientSession() as client, client.ws_connect(
                f"ws://{LOOPBACK}:{port}/ws?token={TOKEN}&width=100&height=30",
                headers={"Origin": f"http://{LOOPBACK}:{port}"}) as ws:
            drawn, deadline = b"", time.monotonic() + 60
            while b"Architecture" not in drawn:  # panel 1's title: the app is drawn
                assert time.monotonic() < deadline, drawn[-2000:]
                message = await ws.receive(timeout=60)
                assert message.type == aiohttp.WSMsgType.BINARY, message
                drawn += message.data
            assert len(children(server.pid)) == 1
        for _ in range(200):
            if not children(server.pid):
                break
            await asyncio.sleep(0.05)
        assert not children(server.pid), "the app process outlived its socket"
    finally:
        out = stop_server(server)
    assert "Traceback" not in out


def test_the_served_command_is_this_python_running_the_cli():
    command = serve_module.served_command(["--preset", "dlp-xor"])
    assert shlex.split(command) == [sys.executable, "-m", "tui.cli", "--preset", "dlp-xor"]
    assert serve_module.served_argv() == [sys.executable, "-m", "tui.cli"]


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
    # bound to every address: the machine's address on its network, where browsers go
    outward = serve_module.outward_address()
    assert serve_module.public_url("0.0.0.0", 8080) == f"http://{outward}:8080"
    assert outward != "0.0.0.0"


class FakeServer:
    """Stands in for tui.serve's server: records its settings, listens nowhere."""

    made: list[FakeServer] = []

    def __init__(self, settings):
        self.settings = settings
        self.served = False
        FakeServer.made.append(self)

    def serve(self, debug: bool = False) -> None:
        self.served = True


@pytest.fixture
def fake_server(monkeypatch, tmp_path):
    import tui.serve.server

    FakeServer.made = []
    monkeypatch.setattr(tui.serve.server, "GuardedServer", FakeServer)
    monkeypatch.setattr(serve_module, "_check_free", lambda host, port: None)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # PYTHONPATH is set for the children
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the default root goes here
    monkeypatch.delenv("NN_TUI_TOKEN", raising=False)
    return FakeServer.made


def test_a_network_address_is_served_with_a_warning(capsys, fake_server):
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("nn-tui: warning: listening on 0.0.0.0, not on the loopback address")
    assert "anyone who can reach port 8123 of this machine and has the token" in err
    settings = fake_server[0].settings
    assert fake_server[0].served and settings.host == "0.0.0.0"
    assert settings.public_url == serve_module.public_url("0.0.0.0", 8123)


def test_serve_passes_the_preset_and_an_absolute_config_on(capsys, fake_server, tmp_path,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("exp.toml").write_text("hidden = [3]\n")
    assert main(["serve", "--preset", "dlp-linear", "--config", "exp.toml"]) == 0
    assert capsys.readouterr().err == ""
    settings = fake_server[0].settings
    assert (settings.host, settings.port, settings.public_url) == (
        LOOPBACK, 8000, "http://127.0.0.1:8000")
    assert settings.argv[3:] == [
        "--preset", "dlp-linear", "--config", str(tmp_path / "exp.toml"),
    ]
    assert str(ROOT) in os.environ["PYTHONPATH"].split(os.pathsep)


def test_serve_passes_open_and_no_autosave_on(capsys, fake_server, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT / "tests" / "tui")
    assert main(["serve", "--open", "runs/dlp-xor-15000.npz", "--no-autosave"]) == 0
    assert fake_server[0].settings.argv[3:] == [
        "--open", str(ROOT / "tests" / "tui" / "runs" / "dlp-xor-15000.npz"), "--no-autosave",
    ]
    assert main(["serve", "--open", "runs/nowhere.npz"]) == 2
    assert "run file runs/nowhere.npz does not exist" in capsys.readouterr().err


def test_the_served_folder_and_the_session_limit(fake_server, tmp_path):
    assert main(["serve"]) == 0  # by default: a fresh folder in the temp dir
    root = fake_server[0].settings.root
    assert root.is_dir() and root.parent == tmp_path.resolve()
    assert root.name.startswith("nn-tui-serve-") and not any(root.iterdir())
    assert fake_server[0].settings.max_sessions == 8
    assert len(fake_server[0].settings.token) >= 32
    assert main(["serve", "--root", str(tmp_path), "--max-sessions", "3"]) == 0
    assert (fake_server[1].settings.root, fake_server[1].settings.max_sessions) == (
        tmp_path.resolve(), 3)


def test_a_token_from_the_environment(fake_server, monkeypatch, capsys):
    monkeypatch.setenv("NN_TUI_TOKEN", "backprop-2026")
    assert main(["serve"]) == 0
    assert fake_server[0].settings.token == "backprop-2026"
    monkeypatch.setenv("NN_TUI_TOKEN", "short")
    assert main(["serve"]) == 2
    assert "NN_TUI_TOKEN: the token must be at least 8" in capsys.readouterr().err


def test_served_apps_get_a_private_copy_of_the_settings(fake_server, private_xdg_dirs):
    """A browser's theme choice must not rewrite the user's own settings.toml."""
    from tui.core.settings import config_dir

    (config_dir() / "themes").mkdir(parents=True)
    (config_dir() / "settings.toml").write_text('theme = "nn-light"\n')
    (config_dir() / "themes" / "mine.toml").write_text("# a theme\n")
    assert main(["serve"]) == 0
    home = Path(fake_server[0].settings.env["XDG_CONFIG_HOME"])
    assert home != private_xdg_dirs / "config" and home.is_dir()
    assert (home / "nn-tui" / "settings.toml").read_text() == 'theme = "nn-light"\n'
    assert (home / "nn-tui" / "themes" / "mine.toml").is_file()


def test_bad_serve_input(capsys):
    for argv, needle in (
        (["--port", "99999"], '--port: the port must be a whole number from 1 to 65535'),
        (["--port", "http"], '--port: the port must be a whole number'),
        (["--preset", "nope"], "--preset: preset must be one of"),
        (["--max-sessions", "0"], "--max-sessions: a whole number from 1 to 1000"),
        (["--root", "/no/such/folder"], '--root: "/no/such/folder" is not a folder'),
        (["--public-url", "ftp://x"], "--public-url: an http:// or https:// address"),
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
