"""应用场景揭榜平台 — the application-scenario marketplace.

:func:`create_app` only wires things together: configuration, extensions,
blueprints, template helpers, error handlers and CLI commands.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from marketplace.config import PROJECT_ROOT, load_config


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
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    configure_extensions(app)
    configure_blueprints(app)
    configure_search(app)
    configure_matching(app)
    configure_templates(app)
    configure_cli(app)
    from marketplace.errors import register_error_handlers

    register_error_handlers(app)
    return app


def configure_extensions(app: Flask) -> None:
    """Bind the unbound extensions of :mod:`marketplace.extensions`."""
    from flask import has_request_context, session
    from flask_babel import lazy_gettext as _l

    from marketplace.extensions import babel, csrf, db, login_manager, migrate
    from marketplace.models import User

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)

    def select_locale() -> str:
        lang = session.get("lang") if has_request_context() else None
        return lang if lang in app.config["LANGUAGES"] else app.config["BABEL_DEFAULT_LOCALE"]

    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(PROJECT_ROOT / "translations"))

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录。")
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None


def configure_blueprints(app: Flask) -> None:
    """Register one blueprint per area."""
    from marketplace.admin import bp as admin_bp
    from marketplace.api import bp as api_bp
    from marketplace.applications import bp as applications_bp
    from marketplace.auth import bp as auth_bp
    from marketplace.enterprises import bp as enterprises_bp
    from marketplace.enterprises.policy import register_file_rules as register_enterprise_file_rules
    from marketplace.main import bp as main_bp
    from marketplace.notifications import bp as notifications_bp
    from marketplace.scenarios import bp as scenarios_bp
    from marketplace.scenarios.policy import register_file_rules
    from marketplace.search_views import bp as search_bp
    from marketplace.showcase import bp as showcase_bp

    for bp in (main_bp, auth_bp, admin_bp, scenarios_bp, applications_bp, enterprises_bp, api_bp, showcase_bp,
               notifications_bp, search_bp):
        app.register_blueprint(bp)
    register_file_rules()
    register_enterprise_file_rules()


def configure_search(app: Flask) -> None:
    """Site search: the backend, the commit hooks, the indexed models and the list keyword filters."""
    from marketplace.indexing import configure_search as configure

    configure(app)


def configure_matching(app: Flask) -> None:
    """Matching: the "邀请揭榜" / "为你推荐" views, the model cache and its version-stamp commit hooks."""
    from marketplace.matching import freshness, services
    from marketplace.matching.routes import bp

    app.register_blueprint(bp)
    freshness.init_app(app, services.build_model)


def configure_templates(app: Flask) -> None:
    """Template filters and globals: local time, money, the current locale."""
    from flask_babel import get_locale

    from marketplace import clock
    from marketplace.navigation import nav_items

    @app.template_filter("local_dt")
    def local_dt(value, fmt: str = "%Y-%m-%d %H:%M"):  # noqa: ANN001
        return clock.to_local(value).strftime(fmt) if value else ""

    @app.template_filter("wan")
    def wan(value) -> str:  # noqa: ANN001
        """Amounts in 万元 with two decimals and thousands separators."""
        return "" if value is None else f"{value:,.2f}"

    @app.template_filter("lname")
    def lname(obj) -> str:  # noqa: ANN001
        """A reference row's name in the current language."""
        if obj is None:
            return ""
        locale = get_locale()
        if locale is not None and locale.language == "en" and getattr(obj, "name_en", None):
            return obj.name_en
        return obj.name

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        locale = get_locale()
        current = "en" if locale is not None and locale.language == "en" else "zh_CN"
        return {"current_locale": current, "languages": app.config["LANGUAGES"], "nav_items": nav_items,
                "has_endpoint": lambda name: name in app.view_functions}


def configure_cli(app: Flask) -> None:
    """Attach the ``flask`` sub-commands."""
    from marketplace.cli import register_cli

    register_cli(app)
