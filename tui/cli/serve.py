"""``nn-tui serve``: the app in a web browser, through textual-serve.

textual-serve is a small web server: its page draws a terminal in the browser and,
for each tab that connects, starts the app's command as a subprocess speaking
Textual's web driver. The command is this very interpreter running ``tui.cli``
(``python -m tui.cli``), so the served app is the one installed next to this
server whatever ``PATH`` says, and runs from a source tree too.

The server listens on the loopback address by default. Any other address lets
anyone who can reach the port run the app, which reads and writes files as the
user who started it; ``serve`` says so on stderr before it starts.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import shlex
import socket
import sys
from pathlib import Path

from tui.cli.configs import build_config
from tui.cli.errors import CliError

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class ServeError(Exception):
    """A server that cannot start: one line naming the flag to change.

    (``run_serve`` words it as a ``tui.cli.errors.CliError``; the server's own
    functions know nothing of the command line's errors.)
    """


def served_command(extra: list[str] | None = None) -> str:
    """The shell command textual-serve runs for each browser tab."""
    return shlex.join([sys.executable, "-m", "tui.cli", *(extra or [])])


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to a public address


def public_url(host: str, port: int) -> str:
    """The address a browser on this machine opens: IPv6 literals in brackets."""
    name = host.strip().strip("[]")
    if ":" in name:
        name = f"[{name}]"
    elif name in ("0.0.0.0", ""):
        name = "127.0.0.1"  # every interface includes this machine's own
    return f"http://{name}:{port}"


def check_port(text: str) -> int:
    value = str(text).strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise ServeError(f'--port: the port must be a whole number from 1 to 65535, got "{text}"')
    return int(value)


def _check_free(host: str, port: int) -> None:
    """Fail with one line, before the server prints its banner, if the port is taken."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServeError(
                    f"--port: port {port} on {host} is already in use; try --port {port + 1}"
                ) from None
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                raise ServeError(
                    f"--host: cannot listen on {host}: not an address of this machine"
                ) from None
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _source_root_on_path() -> None:
    """Make ``python -m tui.cli`` find this copy of nn-tui in the served subprocesses,
    also when it runs from a source tree rather than an installed package."""
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds tui/
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *parts])


def serve(host: str, port: int, extra: list[str] | None = None,
          url: str | None = None) -> int:
    """Serve the app until interrupted; returns the exit status."""
    try:
        from textual_serve.server import Server
    except ModuleNotFoundError:
        print("nn-tui: error: serving needs textual-serve: pip install textual-serve",
              file=sys.stderr)
        return 1
    _check_free(host, port)
    if not is_loopback(host):
        print(
            f"nn-tui: warning: listening on {host}, not on the loopback address: anyone who "
            f"can reach port {port} of this machine can use the app, which reads and writes "
            "files as you. Use the default --host 127.0.0.1 (and ssh -L to reach it from "
            "elsewhere) unless that is what you want.",
            file=sys.stderr,
        )
    _source_root_on_path()
    server = Server(
        served_command(extra),
        host=host.strip("[]"),
        port=port,
        title="nn-tui",
        public_url=url or public_url(host, port),
    )
    server.serve()
    return 0


def run_serve(ns: argparse.Namespace) -> int:
    try:
        port = check_port(ns.port)
    except ServeError as exc:
        raise CliError(str(exc)) from None
    extra: list[str] = []
    if getattr(ns, "preset", None) or getattr(ns, "config", None):
        build_config(ns)  # a bad preset or file is reported now, not in every browser tab
        if getattr(ns, "preset", None):
            extra += ["--preset", ns.preset]
        if getattr(ns, "config", None):
            import os

            extra += ["--config", os.path.abspath(ns.config)]
    try:
        return serve(ns.host, port, extra, url=ns.public_url)
    except ServeError as exc:
        raise CliError(str(exc)) from None
