"""The operator console: web pages over the state store, at `/console/` in `mlc serve`.

    app.py         the Starlette app (routes, error pages, sessions), `build_console`
    access.py      the login check, roles and CSRF around every page and action
    pages.py       the pages and actions
    queries.py     the bounded store queries the pages read through
    references.py  the business numbers of each job, for search
    security.py    signed session cookies, CSRF tokens, the login rate limit
    users.py       users and argon2 password hashes in the state store
    x12view.py     an X12 file as segment lines with element names and code meanings
    templates/     Jinja templates; static/: CSS and htmx (vendored, 0BSD)
"""

from __future__ import annotations

from engine.console.app import ConsoleSettings, build_console
from engine.console.references import catch_up
from engine.console.users import User, add_user, authenticate, list_users, remove_user

__all__ = ["ConsoleSettings", "User", "add_user", "authenticate", "build_console", "catch_up", "list_users", "remove_user"]
