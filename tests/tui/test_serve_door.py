"""``nn-tui serve``'s door (``tui.serve``), driven by plain HTTP and WebSocket clients.

The server runs in the test's event loop; the app it starts for each socket is a stand-in
(``FAKE_APP``) that speaks textual-serve's protocol and writes back what reached it, so
a test sees the very size, keys and environment the app process got, in milliseconds.
(``test_serve.py`` serves the real app; ``test_serve_browser.py`` opens it in Chromium.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tui.serve import guard
from tui.serve import server as server_module
from tui.serve.server import GuardedServer, ServeSettings

TOKEN = "test-token-0123456789"
FAKE_APP = r'''
import json, os, signal, sys
out, inp = sys.stdout.buffer, sys.stdin.buffer
stubborn = "--stubborn" in sys.argv  # ignores "quit" and SIGTERM: must be killed
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

def send(text):
    data = text.encode()
    out.write(b"D" + len(data).to_bytes(4, "big") + data)
    out.flush()

out.write(b"__GANGLION__\n")
send(json.dumps({"pid": os.getpid(), "size": [os.environ["COLUMNS"], os.environ["ROWS"]],
                 "root": os.environ.get("NN_TUI_ROOT"), "cwd": os.getcwd(),
                 "token": os.environ.get("NN_TUI_TOKEN")}))
while len(head := inp.read(5)) == 5:
    body = inp.read(int.from_bytes(head[1:], "big"))
    if head[:1] == b"M":
        meta = json.loads(body)
        if meta["type"] == "quit" and not stubborn:
            break
        send(json.dumps(meta))
    else:
        send(json.dumps({"stdin": body.decode()}))
'''


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def settings(tmp_path) -> ServeSettings:
    script = tmp_path / "fake_app.py"
    script.write_text(FAKE_APP)
    root = tmp_path / "root"
    root.mkdir()
    return ServeSettings(argv=[sys.executable, str(script)], host="127.0.0.1",
                         port=free_port(), public_url="", token=TOKEN, root=root,
                         max_sessions=2)


@contextlib.asynccontextmanager
async def served(settings: ServeSettings):
    """The server listening on its port for the length of the block."""
    if not settings.public_url:
        settings.public_url = f"http://127.0.0.1:{settings.port}"
    server = GuardedServer(settings)
    runner = web.AppRunner(await server._make_app())
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    try:
        yield server
    finally:
        await runner.cleanup()


def base(settings: ServeSettings) -> str:
    return f"http://127.0.0.1:{settings.port}"


async def get(settings, path="/", headers=None, cookies=None) -> tuple[int, str, object]:
    async with aiohttp.ClientSession(cookies=cookies) as client, \
            client.get(base(settings) + path, headers=headers or {}) as reply:
        return reply.status, await reply.text(), reply.cookies


async def next_json(ws, timeout=10.0) -> dict:
    """The next message the (fake) app wrote, as JSON."""
    message = await ws.receive(timeout=timeout)
    assert message.type == aiohttp.WSMsgType.BINARY, message
    return json.loads(message.data)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie counts as ended
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True


async def wait_gone(pid: int, seconds: float) -> bool:
    for _ in range(int(seconds * 20)):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return not alive(pid)


# ------------------------------------------------------------------ the token
async def test_a_page_needs_the_token(settings):
    async with served(settings):
        for path in ("/", "/?token=wrong", "/static/js/textual.js", "/?token=" + TOKEN[:-1]):
            status, text, _ = await get(settings, path)
            assert status == 403, path
            assert text == ("nn-tui: refused: missing or wrong token; open the address "
                            "nn-tui serve printed, with its ?token=\n")
        status, text, cookies = await get(settings, "/?token=" + TOKEN)
        assert status == 200 and "<html" in text
        assert f'data-session-websocket-url="ws://127.0.0.1:{settings.port}/ws"' in text
        cookie = cookies[guard.cookie_name(settings.port)]
        assert cookie.value == TOKEN and cookie["httponly"] and cookie["samesite"] == "Strict"
        # a reload, and the page's scripts, come with the cookie and without ?token=
        jar = {guard.cookie_name(settings.port): TOKEN}
        assert (await get(settings, "/", cookies=jar))[0] == 200
        assert (await get(settings, "/static/js/textual.js", cookies=jar))[0] == 200
        assert (await get(settings, "/", cookies={guard.cookie_name(1): TOKEN}))[0] == 403


async def test_a_socket_needs_the_token(settings):
    async with served(settings) as server, aiohttp.ClientSession() as client:
        for query in ("", "?token=nope"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await client.ws_connect(f"{base(settings)}/ws{query}")
            assert refused.value.status == 403
        assert not server.sessions
        status, text, _ = await get(settings, f"/ws?token={TOKEN}")  # no upgrade asked
        assert (status, text) == (400, "nn-tui: this address is for WebSockets\n")
        async with client.ws_connect(f"{base(settings)}/ws?token={TOKEN}") as ws:
            hello = await next_json(ws)
            assert hello["root"] == str(settings.root) and hello["cwd"] == str(settings.root)
            assert hello["token"] is None  # the app process never sees the token


# ------------------------------------------------------------------ hosts and origins
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1",
                                    "https://127.0.0.1.evil.example"])
async def test_a_foreign_origin_is_refused(settings, origin):
    async with served(settings) as server, aiohttp.ClientSession() as client:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(f"{base(settings)}/ws?token={TOKEN}",
                                    headers={"Origin": origin})
        assert refused.value.status == 403
        assert not server.sessions
        status, text, _ = await get(settings, f"/?token={TOKEN}", headers={"Origin": origin})
        assert status == 403 and "another site (Origin)" in text


async def test_the_pages_own_origin_is_let_in(settings):
    async with served(settings), aiohttp.ClientSession() as client:
        for origin in (base(settings), f"http://localhost:{settings.port}"):
            async with client.ws_connect(f"{base(settings)}/ws?token={TOKEN}",
                                         headers={"Origin": origin}) as ws:
                assert (await next_json(ws))["size"] == ["80", "24"]


async def test_a_foreign_host_is_refused(settings):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: refused by Host."""
    async with served(settings):
        for host in (f"evil.example:{settings.port}", "127.0.0.1:1", ""):
            status, text, _ = await get(settings, f"/?token={TOKEN}", headers={"Host": host})
            assert status == 403 and "not known by that name (Host)" in text, host
        status, _, _ = await get(settings, f"/?token={TOKEN}",
                                 headers={"Host": f"localhost:{settings.port}"})
        assert status == 200


async def test_the_page_points_its_socket_where_the_browser_is(settings):
    """Bound to every address: the page's socket goes to the address the browser used
    (the public URL), not to the address the server listens on."""
    settings.host = "0.0.0.0"
    settings.public_url = f"http://192.0.2.7:{settings.port}"
    async with served(settings):
        host = {"Host": f"192.0.2.7:{settings.port}"}
        status, text, _ = await get(settings, f"/?token={TOKEN}", headers=host)
        assert status == 200
        assert f'data-session-websocket-url="ws://192.0.2.7:{settings.port}/ws"' in text
        assert "0.0.0.0" not in text
        status, _, _ = await get(settings, f"/?token={TOKEN}",
                                 headers={"Host": f"192.0.2.8:{settings.port}"})
        assert status == 403


# ------------------------------------------------------------------ limits
async def test_the_terminal_size_is_capped(settings):
    async with served(settings), aiohttp.ClientSession() as client:
        url = f"{base(settings)}/ws?token={TOKEN}&width=4000&height=4000"
        async with client.ws_connect(url) as ws:
            assert (await next_json(ws))["size"] == ["400", "200"]
            await ws.send_json(["resize", {"width": 4000, "height": 4000}])
            assert await next_json(ws) == {"type": "resize", "width": 400, "height": 200}
            await ws.send_json(["resize", {"width": -5, "height": "12"}])
            assert await next_json(ws) == {"type": "resize", "width": 1, "height": 12}
            for junk in ('["resize", {"width": "x", "height": 1}]', "not json", "[]", "{}",
                         '["stdin", 5]', '["resize", 7]'):
                await ws.send_str(junk)  # skipped, and the session goes on
            await ws.send_json(["stdin", "?"])
            assert await next_json(ws) == {"stdin": "?"}


async def test_sessions_past_the_limit_are_refused(settings):
    async with served(settings) as server, aiohttp.ClientSession() as client:
        url = f"{base(settings)}/ws?token={TOKEN}"
        first, second = await client.ws_connect(url), await client.ws_connect(url)
        await next_json(first)
        await next_json(second)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(url)
        assert refused.value.status == 503
        status, text, _ = await get(settings, f"/?token={TOKEN}")
        assert status == 503
        assert "all 2 sessions of this server are in use (nn-tui serve --max-sessions 2)" in text
        await first.close()
        for _ in range(100):
            if len(server.sessions) < 2:
                break
            await asyncio.sleep(0.05)
        async with client.ws_connect(url) as third:  # a place is free again
            await next_json(third)
        await second.close()


# ------------------------------------------------------------------ the process ends
async def test_the_app_process_ends_with_its_socket(settings):
    async with served(settings) as server, aiohttp.ClientSession() as client:
        async with client.ws_connect(f"{base(settings)}/ws?token={TOKEN}") as ws:
            pid = (await next_json(ws))["pid"]
            assert alive(pid)
        assert await wait_gone(pid, 5), "the app process outlived its socket"
        for _ in range(40):
            if not server.sessions:
                break
            await asyncio.sleep(0.05)
        assert not server.sessions


async def test_an_app_that_ignores_quit_is_killed(settings, monkeypatch):
    monkeypatch.setattr(server_module, "QUIT_GRACE", 0.3)
    settings.argv = [*settings.argv, "--stubborn"]
    async with served(settings), aiohttp.ClientSession() as client:
        async with client.ws_connect(f"{base(settings)}/ws?token={TOKEN}") as ws:
            pid = (await next_json(ws))["pid"]
        assert await wait_gone(pid, 5), "a stubborn app process outlived its socket"


async def test_stopping_the_server_ends_every_app_process(settings):
    async with aiohttp.ClientSession() as client:
        async with served(settings):
            ws = await client.ws_connect(f"{base(settings)}/ws?token={TOKEN}")
            pid = (await next_json(ws))["pid"]
        assert await wait_gone(pid, 5)
        await ws.close()


# ------------------------------------------------------------------ the rules themselves
def test_token_rules():
    assert len(guard.new_token()) >= 32 and guard.new_token() != guard.new_token()
    assert guard.token_matches(TOKEN, TOKEN)
    assert not guard.token_matches(None, TOKEN) and not guard.token_matches("", TOKEN)
    assert guard.check_token("backprop-2026") == "backprop-2026"
    for bad in ("short", "has space in it", "quote'd-token"):
        with pytest.raises(guard.GuardError):
            guard.check_token(bad)


def test_host_rules():
    allowed = guard.allowed_hosts("127.0.0.1", 8000, "http://127.0.0.1:8000")
    assert allowed == {"127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert guard.host_allowed("LOCALHOST:8000", allowed)
    assert not guard.host_allowed("localhost", allowed)  # port 80
    assert not guard.host_allowed(None, allowed)
    behind_proxy = guard.allowed_hosts("127.0.0.1", 8000, "https://nn.example.org")
    assert guard.host_allowed("nn.example.org", behind_proxy, "https")
    assert guard.origin_allowed("https://nn.example.org", behind_proxy)
    on_network = guard.allowed_hosts("192.0.2.7", 8000, "http://192.0.2.7:8000")
    assert on_network == {"192.0.2.7:8000"}  # not bound to loopback: no loopback names
    assert guard.clamp_size(4000, 4000) == (400, 200)
    assert guard.clamp_size("x", 3) is None
