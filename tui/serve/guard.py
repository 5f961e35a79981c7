"""The served app's door rules, as plain functions: who may open the page and its socket.

- **A token.** Each server draws a random one (``secrets.token_urlsafe``) and prints it
  in its URL, ``http://127.0.0.1:8000/?token=...``; ``NN_TUI_TOKEN`` sets a fixed one
  instead (an environment variable, not a flag: other users of the machine can read a
  command line in ``ps``). Every request must carry it, in the query or in the cookie the
  first page sets, so that a reload works; it is compared in constant time.
- **Hosts and origins.** The ``Host`` header must name the server as the browser reaches
  it (its public URL, or a loopback name when it listens there): another name means a
  DNS-rebinding page. An ``Origin``, which browsers send with every WebSocket and with
  cross-site requests, must be the page's own: browsers let any page open a WebSocket
  to any address, and this check is what stops a foreign one.
- **Terminal size.** A browser says how large its terminal is; a huge size made one app
  process take gigabytes, so it is clamped to ``MAX_COLUMNS`` x ``MAX_ROWS``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

TOKEN_ENV = "NN_TUI_TOKEN"
"""A fixed token for the server (say, one written on the board); at least MIN_TOKEN long."""

MIN_TOKEN = 8
MAX_COLUMNS = 400
MAX_ROWS = 200
"""The largest terminal a browser may ask for: a wall of 4K screens is still less."""

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
"""The names this machine's own browser reaches a loopback server by."""

DEFAULT_PORTS = {"http": 80, "https": 443}


class GuardError(ValueError):
    """A setting the door cannot work with (a short token, a bad public URL)."""


def new_token() -> str:
    """A fresh random token: 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def check_token(token: str) -> str:
    """A token given by the user, if long enough and URL-safe."""
    if len(token) < MIN_TOKEN or not all(c.isalnum() or c in "-_.~" for c in token):
        raise GuardError(f"{TOKEN_ENV}: the token must be at least {MIN_TOKEN} letters, "
                         "digits or -_.~")
    return token


def token_matches(given: str | None, token: str) -> bool:
    """True when ``given`` is the token; constant time, so timing tells nothing."""
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


def cookie_name(port: int) -> str:
    """The cookie that carries the token: one per port, as browsers share cookies
    between the ports of one host."""
    return f"nn_tui_token_{port}"


def host_port(netloc: str, scheme: str = "http") -> str:
    """``host:port`` in lower case, the port written out (``example.org`` ->
    ``example.org:80``), IPv6 in brackets; '' for something that is no host."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port or DEFAULT_PORTS.get(scheme, 80)}"


def allowed_hosts(bind: str, port: int, public_url: str) -> frozenset[str]:
    """The ``host:port`` values a request's ``Host`` may name: the public URL's, and
    the loopback names when the server listens on a loopback or every address."""
    parts = urlsplit(public_url)
    hosts = {host_port(parts.netloc, parts.scheme)}
    if covers_loopback(bind):
        hosts |= {f"{name}:{port}" for name in LOOPBACK_NAMES}
    return frozenset(h for h in hosts if h)


def covers_loopback(bind: str) -> bool:
    """True when a server bound to ``bind`` answers on the loopback address."""
    name = bind.strip().strip("[]").lower()
    if name in ("", "localhost", "0.0.0.0", "::"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(host: str | None, allowed: frozenset[str], scheme: str = "http") -> bool:
    """True when a request's ``Host`` header names this server."""
    return bool(host) and host_port(host, scheme) in allowed


def origin_allowed(origin: str | None, allowed: frozenset[str]) -> bool:
    """True when a request carries no ``Origin`` (not from a web page: it still needs the
    token) or the origin is one of this server's own addresses."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS:
        return False  # "null" (a sandboxed frame or a file://): no page of ours
    return host_port(parts.netloc, parts.scheme) in allowed


def clamp_size(width: object, height: object) -> tuple[int, int] | None:
    """A terminal size within 1..MAX_COLUMNS x 1..MAX_ROWS, or None when it is no size."""
    try:
        columns, rows = int(str(width)), int(str(height))
    except ValueError:
        return None
    return min(max(columns, 1), MAX_COLUMNS), min(max(rows, 1), MAX_ROWS)
