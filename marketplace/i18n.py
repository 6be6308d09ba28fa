"""The request's translations and language, looked up once per request.

Flask-Babel resolves its context, domain and locale on every ``gettext`` call; a list page makes
a hundred such calls. Within one request the answer cannot change (the language is chosen from the
session when the request starts), so it is kept in the WSGI environ of the request.
"""

from __future__ import annotations

from babel.support import NullTranslations, Translations
from flask import has_request_context, request
from flask_babel import get_locale, get_translations

_TRANSLATIONS = "marketplace.translations"
_LANGUAGE = "marketplace.language"


def request_translations() -> Translations | NullTranslations:
    """Flask-Babel's translations for this request (looked up on the first call)."""
    if not has_request_context():
        return get_translations()
    environ = request.environ
    found = environ.get(_TRANSLATIONS)
    if found is None:
        found = environ[_TRANSLATIONS] = get_translations()
    return found


def request_language() -> str | None:
    """The language code (``zh``, ``en``) of this request's locale."""
    if not has_request_context():
        locale = get_locale()
        return locale.language if locale is not None else None
    environ = request.environ
    if _LANGUAGE not in environ:
        locale = get_locale()
        environ[_LANGUAGE] = locale.language if locale is not None else None
    return environ[_LANGUAGE]
