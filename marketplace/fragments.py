"""Parts of the base layout kept per process for anonymous visitors: the site header and footer.

For an anonymous visitor the header (navigation, search box, language menu, sign-in links) depends only on
the language, where the site is mounted and the page's endpoint (its ``active`` link); the footer on the
language, the mount point and the settings. Nothing in them comes from the database, so a fragment rendered
once is the same in every process until the code or the settings change (a restart). ``base.html`` calls
``site_fragment(name)``: for anonymous visitors the kept markup, for signed-in users (their name, unread
count, CSRF token) and on the search page (the header repeats the query) the template rendered as an
``include`` would. When templates auto-reload (debug), nothing is kept.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup

from marketplace.i18n import request_language

_KEY = "marketplace.fragments"
#: Fragments kept in one process (cleared when full; the keys are few: templates × languages × endpoints).
FRAGMENTS_KEPT = 512
#: The settings the fragments show (part of the key: a change takes effect at once, as when rendered).
_SETTINGS = ("SITE_OPERATOR", "SITE_CONTACT", "SITE_ICP")
#: Pages whose header shows something from the request itself.
_PER_REQUEST_ENDPOINTS = frozenset({"search_ui.index"})


@pass_context
def site_fragment(context: Any, name: str) -> Markup:
    """The template *name* rendered in *context* (like ``{% include %}``), kept for anonymous visitors."""
    app = current_app._get_current_object()
    memo: dict[tuple, Markup] | None = app.extensions.get(_KEY)
    key = None
    if memo is not None and not current_user.is_authenticated and request.endpoint not in _PER_REQUEST_ENDPOINTS:
        config = app.config
        key = (name, request_language(), request.script_root, request.endpoint,
               *(config.get(setting) for setting in _SETTINGS))
        found = memo.get(key)
        if found is not None:
            return found
    html = Markup(context.environment.get_template(name).render(context.get_all()))
    if key is not None:
        if len(memo) >= FRAGMENTS_KEPT:
            memo.clear()
        memo[key] = html
    return html


def init_app(app: Flask) -> None:
    """Make ``site_fragment`` a template global (keeping nothing when templates auto-reload)."""
    if not (app.debug or app.config.get("TEMPLATES_AUTO_RELOAD")):
        app.extensions[_KEY] = {}
    app.add_template_global(site_fragment)
