"""``nn-tui serve``: the app in a web browser, through textual-serve, behind a lock.

textual-serve is a small web server: its page draws a terminal in the browser and,
for each tab that connects, starts the app's command as a subprocess speaking
Textual's web driver. The command is this very interpreter running ``tui.cli``
(``python -m tui.cli``), so the served app is the one installed next to this
server whatever ``PATH`` says, and runs from a source tree too.

Browsers let any page open a WebSocket to any address, so a server on the loopback
address is not private by itself: ``tui.serve`` checks a per-server token, the
``Host`` and the ``Origin`` of every request, caps the terminal size and the number
of sessions, and ends each app process with its socket. The served apps' file prompts
see one folder only (``--root``; by default a fresh folder in the temp dir, kept when
the server stops), and their theme choice goes to a private copy of the user's
settings. The server listens on the loopback address by default; any other address
gets a warning on stderr.
"""

from __future__ import annotations

import argparse
import atexit
import errno
import ipaddress
import os
import shlex
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from tui.cli.configs import build_config
from tui.cli.errors import CliError

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
MAX_SESSIONS_LIMIT = 1000
"""The most sessions --max-sessions allows (each one is an app process)."""


class ServeError(Exception):
    """A server that cannot start: one line naming the flag to change.

    (``run_serve`` words it as a ``tui.cli.errors.CliError``; the server's own
    functions know nothing of the command line's errors.)
    """


def served_argv(extra: list[str] | None = None) -> list[str]:
    """The command the server runs for each browser tab (no shell involved)."""
    return [sys.executable, "-m", "tui.cli", *(extra or [])]


def served_command(extra: list[str] | None = None) -> str:
    """``served_argv`` as one shell line, for people to read."""
    return shlex.join(served_argv(extra))


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to a public address


def outward_address(ipv6: bool = False) -> str:
    """This machine's address on its network: the source address of a route outwards
    (a UDP "connection" to a documentation address sends no packet), else loopback."""
    family, target, fallback = ((socket.AF_INET6, "2001:db8::1", "::1") if ipv6
                                else (socket.AF_INET, "192.0.2.1", "127.0.0.1"))
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((target, 9))
            return str(probe.getsockname()[0])
    except OSError:
        return fallback


def public_url(host: str, port: int) -> str:
    """The address browsers open: the machine's network address when the server listens
    on every address (0.0.0.0, ::), IPv6 literals in brackets."""
    name = host.strip().strip("[]")
    if name in ("0.0.0.0", "", "::"):
        name = outward_address(ipv6=name == "::")
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"


def check_port(text: str) -> int:
    value = str(text).strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 65535:
        raise ServeError(f'--port: the port must be a whole number from 1 to 65535, got "{text}"')
    return int(value)


def check_max_sessions(text: str) -> int:
    value = str(text).strip()
    if (not (value.isascii() and value.isdigit())
            or not 1 <= int(value) <= MAX_SESSIONS_LIMIT):
        raise ServeError("--max-sessions: a whole number from 1 to "
                         f'{MAX_SESSIONS_LIMIT}, got "{text}"')
    return int(value)


def check_public_url(url: str) -> str:
    if not url.startswith(("http://", "https://")) or not url.split("://", 1)[1].strip("/"):
        raise ServeError(f'--public-url: an http:// or https:// address, got "{url}"')
    return url.rstrip("/")


def served_folder(root: str | None) -> Path:
    """The folder the served apps' prompts are confined to: ``--root``, which must exist,
    or a fresh one in the temp dir (kept when the server stops: it holds what the
    browsers saved)."""
    if root is None:
        return Path(tempfile.mkdtemp(prefix="nn-tui-serve-")).resolve()
    folder = Path(root).expanduser().resolve()
    if not folder.is_dir():
        raise ServeError(f'--root: "{root}" is not a folder')
    return folder


def served_token() -> str:
    """``NN_TUI_TOKEN`` when set, else a fresh random token."""
    from tui.serve.guard import TOKEN_ENV, GuardError, check_token, new_token

    given = os.environ.get(TOKEN_ENV, "")
    try:
        return check_token(given) if given else new_token()
    except GuardError as exc:
        raise ServeError(str(exc)) from None


def private_config() -> dict[str, str]:
    """``XDG_CONFIG_HOME`` for the served apps: a copy of the user's settings and themes
    in a temporary folder, removed at exit, so that a browser's theme choice never
    rewrites the user's own settings.toml."""
    from tui.core.settings import config_dir

    home = Path(tempfile.mkdtemp(prefix="nn-tui-serve-config-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    source, target = config_dir(), home / "nn-tui"
    target.mkdir()
    if (source / "settings.toml").is_file():
        shutil.copyfile(source / "settings.toml", target / "settings.toml")
    if (source / "themes").is_dir():
        shutil.copytree(source / "themes", target / "themes",
                        ignore=lambda folder, names: [n for n in names
                                                      if not n.endswith(".toml")])
    return {"XDG_CONFIG_HOME": str(home)}


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


def _warn_network(host: str, port: int) -> None:
    print(
        f"nn-tui: warning: listening on {host}, not on the loopback address: anyone who "
        f"can reach port {port} of this machine and has the token can use the app (its "
        "files: the --root folder). Use the default --host 127.0.0.1 (and ssh -L to reach "
        "it from elsewhere) unless that is what you want.",
        file=sys.stderr,
    )


def serve(host: str, port: int, extra: list[str] | None = None, url: str | None = None,
          root: str | None = None, max_sessions: int = 8) -> int:
    """Serve the app until interrupted; returns the exit status."""
    try:
        from tui.serve.server import GuardedServer, ServeSettings
    except ModuleNotFoundError as exc:
        if exc.name not in ("textual_serve", "aiohttp", "aiohttp_jinja2"):
            raise
        print("nn-tui: error: serving needs textual-serve: pip install textual-serve",
              file=sys.stderr)
        return 1
    _check_free(host, port)
    token = served_token()
    folder = served_folder(root)
    if not is_loopback(host):
        _warn_network(host, port)
    _source_root_on_path()
    settings = ServeSettings(
        argv=served_argv(extra), host=host.strip("[]"), port=port,
        public_url=check_public_url(url) if url else public_url(host, port),
        token=token, root=folder, env=private_config(), max_sessions=max_sessions,
    )
    GuardedServer(settings).serve()
    return 0


def app_arguments(ns: argparse.Namespace) -> list[str]:
    """The app's own options given to ``serve`` (checked now, not in every browser tab):
    --preset, --config, --open and --no-autosave, paths made absolute."""
    extra: list[str] = []
    if getattr(ns, "preset", None) or getattr(ns, "config", None):
        build_config(ns)  # a bad preset or file is reported now, not in every browser tab
        if getattr(ns, "preset", None):
            extra += ["--preset", ns.preset]
        if getattr(ns, "config", None):
            extra += ["--config", os.path.abspath(ns.config)]
    from tui.cli.launch import _app_options

    options = _app_options(ns)
    if "run_path" in options:
        extra += ["--open", str(Path(options["run_path"]).absolute())]
    if options.get("autosave") is False:
        extra.append("--no-autosave")
    return extra


def run_serve(ns: argparse.Namespace) -> int:
    try:
        port = check_port(ns.port)
        max_sessions = check_max_sessions(ns.max_sessions)
        extra = app_arguments(ns)
        return serve(ns.host, port, extra, url=ns.public_url, root=ns.root,
                     max_sessions=max_sessions)
    except ServeError as exc:
        raise CliError(str(exc)) from None
