"""Domain errors raised by services, and the one place that turns any error into a response.

Services raise a :class:`DomainError` subclass carrying its HTTP status; views do not catch them
unless they re-render a form with field errors (:func:`rejected`). The handlers here:

* roll the unit of work back first (:mod:`marketplace.unit_of_work`), then render;
* under ``/api/``, and for ``.json`` resources (chart data), answer the JSON error envelope
  ``{"error": {"status", "message"[, "fields"]}}``;
* for pages: 401/403/404 (and any error of a ``GET``) render the error page with that status; a
  refused form submission (400/409/422 on ``POST``) flashes the message and redirects (303) back to
  the page the form was on;
* the database unreachable (a PostgreSQL restart or failover, the pool exhausted): ``503`` with
  ``Retry-After`` instead of a 500 — nginx tries the next server for idempotent requests, the client
  retries; the pool's pre-ping replaces the dead connections on the next checkout;
* a 500 renders the error page after the rollback, and falls back to a bare page if even that fails.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, current_app, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from marketplace import unit_of_work
from marketplace.redirects import back_url

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the platform refused an action; ``message`` is shown to the user."""

    status_code = 400

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


def joined(field_errors: dict[str, list[str]]) -> str:
    """The field messages of a refusal in one sentence for its summary: "甲；乙。" — not "甲。；乙。"."""
    return "；".join(m.rstrip("。") for messages in field_errors.values() for m in messages) + "。"


class PermissionDenied(DomainError):
    """The actor may not do this."""

    status_code = 403


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor."""

    status_code = 404


class InvalidTransition(DomainError):
    """The object's state does not allow this action."""

    status_code = 409


class BadParameters(DomainError):
    """Query-string parameters a list or the API cannot use (HTTP 400, with per-parameter messages)."""

    status_code = 400


class MalformedRequest(BadParameters):
    """A request no browser form sends (e.g. a NUL character): 400 with the error page even for a form
    submission, since there is nothing the user could correct on the page it came from."""


class ValidationFailed(DomainError):
    """Input broke a rule; ``field_errors`` map form fields to messages."""

    status_code = 422


#: Statuses answered with the error page even for a form submission (nothing to correct and retry).
_PAGE_STATUSES = frozenset({401, 403, 404, 405, 413, 429})

_BARE_500 = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>500</title>"
             "<h1>服务器内部错误</h1><p>系统出现了意外错误，已记录日志。请稍后重试。</p>"
             "<p><a href=\"/\">返回首页</a></p></html>")
_BARE_503 = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>503</title>"
             "<h1>服务暂不可用</h1><p>数据库暂时不可用（可能正在重启），您的操作未被保存，请稍后重试。</p></html>")


def wants_json() -> bool:
    """Errors under ``/api/``, and of any ``.json`` resource (the charts' data), are answered as JSON."""
    return request.path.startswith("/api/") or request.path.endswith(".json")


def error_response(status: int, message: str | None = None, fields: dict[str, list[str]] | None = None):
    """The JSON envelope under ``/api/``, the error page elsewhere."""
    if wants_json():
        body: dict = {"status": status, "message": message or error_title(status)}
        if fields:
            body["fields"] = fields
        return jsonify({"error": body}), status
    return render_template("errors/error.html", status=status, title=error_title(status),
                           message=message), status


def register_error_handlers(app: Flask) -> None:
    """Render errors as Chinese pages, or as JSON under ``/api/`` — always after a rollback."""
    app.extensions[unit_of_work.UNAVAILABLE_RESPONSE] = database_unavailable_response

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        unit_of_work.rollback()
        status = error.status_code
        if (not wants_json() and request.method not in unit_of_work.SAFE_METHODS
                and status not in _PAGE_STATUSES and not isinstance(error, MalformedRequest)):
            flash(error.message, "danger")
            return redirect(back_url(), 303)
        return error_response(status, error.message, error.field_errors)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        unit_of_work.rollback()
        message = None
        if error.code == 400 and error.description and "CSRF" in error.description:
            message = _("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。")
        elif error.code == 413:
            limit = current_app.config.get("MAX_CONTENT_LENGTH")
            if limit and (request.content_length or 0) <= limit:
                # Within the upload limit: one text field of a multipart form was over MAX_FORM_MEMORY_SIZE.
                message = _("表单中某一栏的文字过长（每栏不能超过约 16 万个汉字），内容未保存。请返回上一页精简后重试。")
            else:
                message = _("上传的内容过大，单个附件不能超过 20 MB。")
        body, status = error_response(error.code or 500, message)
        headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else {}
        return body, status, headers

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    @app.errorhandler(sa.exc.DisconnectionError)
    @app.errorhandler(sa.exc.TimeoutError)
    def _database_unavailable(error: Exception):
        unit_of_work.rollback()
        pin_anonymous_user()
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    str(error).splitlines()[0][:300])
        return database_unavailable_response()

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        unit_of_work.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            return error_response(500)
        except Exception:  # the error page itself failed (database gone, template error): answer anyway
            log.exception("the 500 page could not be rendered")
            if wants_json():
                return {"error": {"status": 500, "message": "服务器内部错误"}}, 500
            return _BARE_500, 500


def pin_anonymous_user() -> None:
    """The database is unreachable: make ``current_user`` an anonymous user unless it is already loaded,
    so that the error page and the response hooks (security headers) do not try to load the user again."""
    from flask import current_app, g

    if g.get("_login_user") is None:
        g._login_user = current_app.login_manager.anonymous_user()


def database_unavailable_response():
    """The 503 answer when the database is unreachable (also used when the request's commit fails)."""
    pin_anonymous_user()
    message = _("数据库暂时不可用（可能正在重启），您的操作未被保存，请稍后重试。")
    try:
        body, status = error_response(503, message)
    except Exception:  # the page itself needs the database: answer anyway
        if wants_json():
            body, status = jsonify({"error": {"status": 503, "message": message}}), 503
        else:
            body, status = _BARE_503, 503
    return body, status, {"Retry-After": "5"}


def error_title(status: int) -> str:
    titles = {
        400: _("请求有误"),
        401: _("请先登录"),
        403: _("没有权限访问此页面"),
        404: _("页面不存在"),
        405: _("不支持的请求方式"),
        409: _("当前状态不允许此操作"),
        413: _("上传内容过大"),
        422: _("提交的内容未通过校验"),
        429: _("请求过于频繁"),
        500: _("服务器内部错误"),
        503: _("服务暂不可用"),
    }
    return titles.get(status, _("出错了"))


def attach_to_form(form, error: DomainError) -> None:
    """Show a service's field errors beside the form's fields (or as a flash message)."""
    shown = False
    for name, messages in error.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            shown = True
    if not shown:
        flash(error.message, "danger")


def rejected(form, error: DomainError) -> int:
    """A view re-renders *form* after a refused change: roll back now, show the errors beside the
    fields, and return the status to answer with. Call it *before* rendering::

        status = rejected(form, error)
        return render_template(...), status

    (``return render_template(...), rejected(form, error)`` would render first: without the field
    errors, and reading the session before the rollback.)"""
    unit_of_work.discard()
    attach_to_form(form, error)
    return error.status_code
