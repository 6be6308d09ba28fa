"""应用场景揭榜平台 — the application-scenario marketplace.

:func:`create_app` only wires things together: configuration, extensions,
blueprints, template helpers, error handlers and CLI commands. It is the composition root, so its
``configure_*`` steps import the areas inside the functions: ``import marketplace`` stays cheap for
scripts that only need a pure part (``marketplace.matching.matcher``, ``marketplace.text``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.routing import IntegerConverter

from marketplace.config import PROJECT_ROOT, load_config


class BoundedInt(IntegerConverter):
    """``<int:…>`` limited to 0 … 2³¹−1 unless a rule says otherwise (ids are 32-bit INTEGER columns), in
    ASCII digits: werkzeug's ``\\d+`` also matches other scripts' digits, which ``int()`` reads, so
    ``/scenarios/٣`` was a second address (and cache entry) of ``/scenarios/3``."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=2**31 - 1 if max is None else max,
                         signed=signed)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, minus the work a request without a session cookie (an anonymous
    visitor) does not need: no signer is built to read nothing, and an untouched empty session is saved as
    Flask saves it (``Vary: Cookie`` if it was read) without looking up the cookie settings."""

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application; ``config`` overrides settings read from the environment."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(load_config())
    if config:
        app.config.update(config)
    # Before any route exists: ``<int:…>`` in a URL stops at the 32-bit ids the database holds, so a
    # larger number is a 404 from routing instead of an out-of-range error from PostgreSQL.
    app.url_map.converters["int"] = BoundedInt
    configure_extensions(app)
    configure_requests(app)
    configure_areas(app)
    configure_search(app)
    configure_templates(app)
    configure_cli(app)
    configure_wsgi(app)
    return app


def configure_wsgi(app: Flask) -> None:
    """The WSGI layers around the app, added last so they are outermost (outside the page cache's hit path)."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # Behind that many reverse proxies: the client address, scheme and host come from X-Forwarded-*.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    # Outermost: note when the request arrived (behind the trusted proxy: its X-Request-Start), so that a
    # deadline is judged by arrival and not by when a busy worker got to the request (clock.request_time).
    from marketplace import clock

    app.wsgi_app = clock.ArrivalStamp(app.wsgi_app, trust_header=proxies > 0,
                                      max_lag=float(app.config.get("REQUEST_START_MAX_LAG_SECONDS", 30)))


def configure_requests(app: Flask) -> None:
    """One unit of work per request, and the one place where errors become pages or JSON."""
    from flask import request

    from marketplace import cors, logs, pagecache, static_assets, unit_of_work, web_security
    from marketplace.errors import register_error_handlers
    from marketplace.queryargs import refuse_nul_characters

    logs.init_app(app)
    unit_of_work.init_app(app)
    register_error_handlers(app)
    web_security.init_app(app)
    cors.init_app(app)

    @app.before_request
    def _refuse_nul_characters() -> None:
        # Query string, URL path and form fields (uploaded files are bytes and are not checked here).
        sources = [request.args]
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            sources.append(request.form)
        refuse_nul_characters(*sources, path=request.path)

    pagecache.init_app(app)
    static_assets.init_app(app)


def configure_extensions(app: Flask) -> None:
    """Bind the unbound extensions of :mod:`marketplace.extensions`."""
    from babel import Locale
    from flask import flash, g, has_request_context, redirect, request, session
    from flask_babel import lazy_gettext as _l
    from flask_login import login_url
    from sqlalchemy import orm as sa_orm

    from marketplace import audit
    from marketplace.auth import sessions, throttle
    from marketplace.errors import error_response, wants_json
    from marketplace.extensions import babel, csrf, db, limiter, login_manager, migrate
    from marketplace.models import User

    db.init_app(app)
    app.session_interface = CookieSessions()

    @app.before_request
    def _load_the_user_afresh() -> None:
        """Each request checks its own session (generation included). ``g`` belongs to the application
        context, which requests share when one is already pushed (tests, scripts)."""
        g.pop("_login_user", None)

    limiter.init_app(app)
    throttle.init_app(app, app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    audit.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)

    # Parsed once: Flask-Babel parses whatever the selector returns on every request (a Locale is kept as is).
    locales = {code: Locale.parse(code) for code in (*app.config["LANGUAGES"], app.config["BABEL_DEFAULT_LOCALE"])}

    def select_locale() -> Locale:
        lang = session.get("lang") if has_request_context() else None
        return locales[lang if lang in app.config["LANGUAGES"] else app.config["BABEL_DEFAULT_LOCALE"]]

    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(PROJECT_ROOT / "translations"))

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "warning"

    @login_manager.unauthorized_handler
    def unauthorized():
        """Pages send anonymous visitors to sign in (and back); the API answers 401 in its JSON envelope."""
        if wants_json():
            return error_response(401)
        flash(login_manager.login_message, login_manager.login_message_category)
        return redirect(login_url(login_manager.login_view, next_url=request.url))

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # With its organisation in the same query: most requests ask for it (role checks, the firm's pages).
        user = db.session.get(User, int(user_id), options=[sa_orm.joinedload(User.organisation)])
        if user is None or not user.is_active or not sessions.is_current(user):
            return None  # deactivated, or a session ended by sign-out, password change, "sign out everywhere" …
        return user


def configure_areas(app: Flask) -> None:
    """Each area registers its routes, workspace panels, file rules and signal receivers, in this order
    (the order of the workspace panels on ``/dashboard``)."""
    from marketplace import (
        admin,
        api,
        applications,
        appraisal,
        auth,
        enterprises,
        health,
        jobs,
        legal,
        main,
        matching,
        notifications,
        opendata,
        scenarios,
        search_views,
        showcase,
        statistics,
    )

    for area in (main, auth, legal, scenarios, applications, enterprises, matching, notifications, showcase,
                 statistics, appraisal, admin, search_views, api, opendata, jobs, health):
        area.init_app(app)


def configure_search(app: Flask) -> None:
    """Site search: the backend, the commit hooks and the indexed models."""
    from marketplace.indexing import configure_search as configure

    configure(app)


def configure_templates(app: Flask) -> None:
    """Template filters and globals: local time, money, the current locale."""
    from flask_babel import get_locale
    from jinja2 import pass_context
    from markupsafe import Markup

    from marketplace import clock, formats, fragments
    from marketplace.i18n import request_language, request_translations
    from marketplace.navigation import nav_items
    from marketplace.paging import id_url, memo_url_for, pager_items, pager_markup, query_url

    fragments.init_app(app)
    app.add_template_global(pager_items)
    app.add_template_global(pager_markup)
    app.add_template_global(query_url)
    app.add_template_global(id_url)

    @app.template_filter("local_dt")
    def local_dt(value, fmt: str = "%Y-%m-%d %H:%M"):
        return clock.to_local(value).strftime(fmt) if value else ""

    @app.template_filter("wan")
    def wan(value) -> str:
        """Amounts in 万元 with two decimals and thousands separators."""
        return "" if value is None else f"{value:,.2f}"

    @app.template_filter("yuan_as_wan")
    def yuan_as_wan(value) -> str:
        """An amount kept in whole yuan shown in 万元 with two decimals (formats.wan_text)."""
        return formats.wan_text(value)

    @app.template_filter("two")
    def two(value) -> str:
        """A score with two decimals (formats.two_decimals)."""
        return formats.two_decimals(value)

    @app.template_filter("lname")
    def lname(obj) -> str:
        """A reference row's name in the current language."""
        if obj is None:
            return ""
        if request_language() == "en" and getattr(obj, "name_en", None):
            return obj.name_en
        return obj.name

    # Templates call gettext a hundred times per list page; Flask-Babel looks the catalogue up anew each time.
    # Look it up once per request instead (same catalogue, same newstyle formatting and escaping).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )

    @pass_context
    def template_gettext(context: Any, string: str, **variables: Any) -> str:
        """Jinja's newstyle ``gettext`` (escaped when autoescaping, always ``%``-formatted) in one call
        instead of three (``_`` → ``gettext`` → the callable above): a list page calls it sixty times."""
        text = request_translations().ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)
    # The same URLs are built on every page (assets, navigation, the footer): keep them per process.
    app.jinja_env.globals["url_for"] = memo_url_for(app)

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        locale = get_locale()
        current = "en" if locale is not None and locale.language == "en" else "zh_CN"
        return {"current_locale": current, "languages": app.config["LANGUAGES"], "nav_items": nav_items}


def configure_cli(app: Flask) -> None:
    """Attach the ``flask`` sub-commands."""
    from marketplace.cli import register_cli

    register_cli(app)
