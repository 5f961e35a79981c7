"""``nn-tui serve``'s web server: textual-serve with a lock on the door.

textual-serve (pinned below 2 in pyproject.toml) draws a terminal in the browser and
starts one app process per WebSocket. On its own it asks for no token, accepts any
``Origin``, passes any terminal size on and keeps no count of sessions, so any web page
the user visits could drive the app. This package adds what Jupyter's server does:

- ``guard``: the rules, as plain functions (the token, the hosts and origins a page and
  its socket may come from, the terminal size cap); no web framework;
- ``server``: textual-serve's ``Server`` and ``AppService`` with those rules applied to
  every request, a session limit, and each app process ended when its socket closes.

No Textual here (``tests/test_contracts.py``): the server only starts the app, as a
subprocess, with ``NN_TUI_ROOT`` set (``tui.core.confine``).
"""
