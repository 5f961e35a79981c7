"""textual-serve's server with the door rules of ``tui.serve.guard`` on every request.

``GuardedServer`` (a textual-serve ``Server``) checks each request's ``Host``,
``Origin`` and token before any handler runs, sets the token's cookie on the first page,
draws the page's WebSocket address from the address the browser used (not from the
address it listens on: ``0.0.0.0`` is nowhere a browser can go), refuses a session past
``max_sessions``, and reads the browser's messages defensively: a malformed one is
skipped, a terminal size is clamped before it reaches the app.

``Session`` (a textual-serve ``AppService``) runs one app process with ``exec`` (no
shell), in the served folder with ``NN_TUI_ROOT`` set, and ends it when its socket
closes: the app is asked to quit, then terminated, then killed, each after a grace
period, so that no app process outlives its browser tab.

textual-serve 1.1 is pinned in pyproject.toml: this subclasses its ``Server`` and
``AppService`` and overrides ``handle_index``, ``handle_websocket``,
``_process_messages``, ``_open_app_process`` and ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shlex
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import WSCloseCode, WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from tui.core.confine import ROOT_ENV
from tui.serve import guard

log = logging.getLogger("nn-tui.serve")

QUIT_GRACE = 3.0
"""Seconds an app process has to quit when asked (then SIGTERM, then SIGKILL)."""

MAX_MESSAGE = 2**20
"""The largest message a browser may send (a paste of 1 MiB)."""

DEFAULT_MAX_SESSIONS = 8
"""Browser tabs served at once (``--max-sessions``); each is an app process (~70 MB)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class ServeSettings:
    """What one server serves, and to whom."""

    argv: list[str]
    """The app's command line (one process per browser tab)."""
    host: str
    port: int
    public_url: str
    """Where browsers reach the server (``http://HOST:PORT``, or a proxy's address)."""
    token: str
    root: Path
    """The served folder: the app's working folder and its prompts' only folder."""
    env: dict[str, str] = field(default_factory=dict)
    """More environment for the app processes (say, ``XDG_CONFIG_HOME``)."""
    max_sessions: int = DEFAULT_MAX_SESSIONS

    @property
    def allowed(self) -> frozenset[str]:
        return guard.allowed_hosts(self.host, self.port, self.public_url)

    def url(self, base: str | None = None) -> str:
        """The address to open, with the token."""
        return f"{(base or self.public_url).rstrip('/')}/?token={self.token}"


async def end_process(process: asyncio.subprocess.Process, grace: float | None = None
                      ) -> None:
    """Wait ``grace`` seconds (QUIT_GRACE) for ``process`` to end, then terminate it, then
    kill it."""
    grace = QUIT_GRACE if grace is None else grace
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), grace)
            return
        except TimeoutError:
            continue


class Session(AppService):
    """One browser tab's app process: started without a shell, ended with its socket."""

    def __init__(self, settings: ServeSettings, **kwargs: Any) -> None:
        super().__init__(shlex.join(settings.argv), **kwargs)
        self.settings = settings
        self._stopped = False

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        return self._process

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment.pop(guard.TOKEN_ENV, None)  # the app has no use for the door's key
        environment.update(self.settings.env)
        environment[ROOT_ENV] = str(self.settings.root)
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24
                                ) -> asyncio.subprocess.Process:
        pipe = asyncio.subprocess.PIPE
        self._process = process = await asyncio.create_subprocess_exec(
            *self.settings.argv, stdin=pipe, stdout=pipe, stderr=pipe,
            env=self._build_environment(width=width, height=height),
            cwd=self.settings.root,
            start_new_session=True,  # Ctrl+C on the server is the server's to handle
        )
        self._stdin = process.stdin
        return process

    async def set_terminal_size(self, width: int, height: int) -> None:
        """Pass a size on, clamped (``guard.clamp_size``): never more than 400 x 200."""
        size = guard.clamp_size(width, height)
        if size is not None:
            await super().set_terminal_size(*size)

    async def stop(self) -> None:
        """Ask the app to quit and make sure its process ends; then stop reading it."""
        if self._stopped:
            return
        self._stopped = True
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if self._process is not None:
            with contextlib.suppress(Exception):
                await self.send_meta({"type": "quit"})
            await end_process(self._process)
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, QUIT_GRACE)
            self._task = None


def parse_envelope(text: str) -> tuple[str, Any] | None:
    """A browser message ``["type", data]`` as (type, data), or None if it is not one."""
    try:
        envelope = json.loads(text)
    except ValueError:
        return None
    if not isinstance(envelope, list) or not envelope or not isinstance(envelope[0], str):
        return None
    return envelope[0], envelope[1] if len(envelope) > 1 else None


def font_size(text: str) -> int:
    """The page's ``?fontsize=``, within 6..64 (16 when it is no number)."""
    try:
        return min(max(int(text), 6), 64)
    except ValueError:
        return 16


class GuardedServer(Server):
    """textual-serve's server, locked: token, Host and Origin checks, a session limit."""

    def __init__(self, settings: ServeSettings, title: str = "nn-tui") -> None:
        super().__init__(shlex.join(settings.argv), host=settings.host, port=settings.port,
                         title=title, public_url=settings.public_url)
        self.settings = settings
        self.allowed = settings.allowed
        self.cookie = guard.cookie_name(settings.port)
        self.sessions: set[Session] = set()
        self.sockets: set[web.WebSocketResponse] = set()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()

        @web.middleware
        async def door(request: web.Request, handler: Handler) -> web.StreamResponse:
            return await self.check_door(request, handler)

        app.middlewares.append(door)
        return app

    # -------------------------------------------------------------- the door
    def refusal(self, request: web.Request) -> str | None:
        """Why a request may not in, in one line; None when it may."""
        headers = request.headers
        if not guard.host_allowed(headers.get("Host"), self.allowed, self.scheme):
            return ("nn-tui: refused: this server is not known by that name (Host); "
                    "open the address nn-tui serve printed")
        if not guard.origin_allowed(headers.get("Origin"), self.allowed):
            return "nn-tui: refused: a page of another site (Origin) may not use this server"
        given = request.query.get("token") or request.cookies.get(self.cookie)
        if not guard.token_matches(given, self.settings.token):
            return ("nn-tui: refused: missing or wrong token; open the address nn-tui serve "
                    "printed, with its ?token=")
        return None

    async def check_door(self, request: web.Request, handler: Handler
                         ) -> web.StreamResponse:
        """Refuse with 403 and one line, or serve, setting the token's cookie on a page
        opened with ``?token=`` (so that a reload without it still works)."""
        reason = self.refusal(request)
        if reason is not None:
            log.warning("%s %s: %s", request.method, request.path, reason)
            return web.Response(status=403, text=reason + "\n")
        response = await handler(request)
        if "token" in request.query and request.path == "/" and not response.prepared:
            response.set_cookie(self.cookie, self.settings.token, httponly=True,
                                samesite="Strict", path="/")
        return response

    @property
    def scheme(self) -> str:
        return "https" if self.settings.public_url.startswith("https:") else "http"

    @property
    def full(self) -> bool:
        return len(self.sessions) >= self.settings.max_sessions

    def full_text(self) -> str:
        limit = self.settings.max_sessions
        return (f"nn-tui: refused: all {limit} sessions of this server are in use "
                f"(nn-tui serve --max-sessions {limit}); close a tab, then reload")

    # -------------------------------------------------------------- the page
    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page, its addresses drawn from the one the browser used (Host, checked)."""
        if self.full:
            raise web.HTTPServiceUnavailable(text=self.full_text() + "\n")
        base = f"{self.scheme}://{request.host}"
        socket_scheme = "wss" if self.scheme == "https" else "ws"
        return {
            "font_size": font_size(request.query.get("fontsize", "16")),
            "app_websocket_url": f"{socket_scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }

    # -------------------------------------------------------------- the socket
    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        """One browser tab: an app process for as long as its socket is open."""
        if self.full:
            return web.Response(status=503, text=self.full_text() + "\n")
        width, height = guard.clamp_size(request.query.get("width", "80"),
                                         request.query.get("height", "24")) or (80, 24)
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        if not websocket.can_prepare(request).ok:
            return web.Response(status=400, text="nn-tui: this address is for WebSockets\n")
        session = Session(self.settings, write_bytes=websocket.send_bytes,
                          write_str=websocket.send_str, close=websocket.close,
                          download_manager=self.download_manager)
        self.sessions.add(session)
        self.sockets.add(websocket)
        try:
            await websocket.prepare(request)
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # noqa: BLE001 (one tab's failure, logged; others go on)
            log.exception(error)
        finally:
            await session.stop()
            self.sessions.discard(session)
            self.sockets.discard(websocket)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse,
                                app_service: AppService) -> None:
        """The browser's messages to the app: keys, sizes (clamped), focus; the rest,
        and anything malformed, is skipped."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            envelope = parse_envelope(message.data)
            if envelope is None:
                continue
            kind, data = envelope
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(data.get("width"), data.get("height"))
            elif kind == "ping" and isinstance(data, str):
                await websocket.send_json(["pong", data[:64]])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    # -------------------------------------------------------------- start and stop
    async def on_startup(self, app: web.Application) -> None:
        print(self.banner(), flush=True)

    async def on_shutdown(self, app: web.Application) -> None:
        """End every app process and close every socket before the server goes."""
        await asyncio.gather(*(session.stop() for session in list(self.sessions)))
        for websocket in list(self.sockets):
            with contextlib.suppress(Exception):
                await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")

    def banner(self) -> str:
        """What the server prints once it listens: the address to open, with its token."""
        settings = self.settings
        lines = [f"nn-tui serve: open {settings.url()}"]
        local = f"http://127.0.0.1:{settings.port}"
        if guard.covers_loopback(settings.host) and not settings.public_url.startswith(local):
            lines.append(f"  on this machine: {settings.url(local)}")
        lines += [
            f"  files: only in {settings.root} (--root)",
            f"  at most {settings.max_sessions} sessions at once (--max-sessions)",
            "  Ctrl+C stops the server",
        ]
        return "\n".join(lines)
