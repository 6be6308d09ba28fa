"""Domain errors raised by services, and the handlers that turn them into pages or JSON."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the platform refused an action; ``message`` is shown to the user."""

    status_code = 400

    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class PermissionDenied(DomainError):
    """The actor may not do this."""

    status_code = 403


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor."""

    status_code = 404


class InvalidTransition(DomainError):
    """The object's state does not allow this action."""

    status_code = 409


class ValidationFailed(DomainError):
    """Input broke a rule; ``field_errors`` map form fields to messages."""

    status_code = 422


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    """Render errors as Chinese pages, or as JSON under ``/api/``."""

    def render(status: int, message: str | None = None):
        if _wants_json():
            return jsonify({"error": {"status": status, "message": message or _error_title(status)}}), status
        return render_template("errors/error.html", status=status, title=_error_title(status),
                               message=message), status

    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        return render(error.status_code, error.message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        message = None
        if error.code == 400 and error.description and "CSRF" in error.description:
            message = _("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试。")
        elif error.code == 413:
            message = _("上传的内容过大，单个附件不能超过 20 MB。")
        return render(error.code or 500, message)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http(error)
        app.logger.exception("unhandled error")
        return render(500)


def _error_title(status: int) -> str:
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
    }
    return titles.get(status, _("出错了"))


def attach_to_form(form, error: DomainError) -> None:  # noqa: ANN001
    """Show a service's field errors beside the form's fields (or as a flash message)."""
    from flask import flash

    shown = False
    for name, messages in error.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
            shown = True
    if not shown:
        flash(error.message, "danger")
