"""The English catalogue is complete: every message of the extracted template has a real translation.

* every message id in ``translations/messages.pot`` has a non-empty, non-fuzzy msgstr in the English
  ``messages.po`` (all plural forms filled in);
* the translations keep their placeholders (``%(n)d`` stays ``%(n)d``), as ``pybabel compile`` checks;
* the template is current: every string the sources mark for translation (``babel.cfg``, keywords
  ``_``/``gettext``/``_l``/``lazy_gettext``…) is in it, so a new ``_("…")`` without ``make translations``
  and an English translation fails here.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "translations" / "messages.pot"
ENGLISH = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# Same as the Makefile's ``translations`` target: ``pybabel extract -F babel.cfg -k _l -k lazy_gettext``.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _ids(catalog) -> set:
    return {message.id for message in catalog if message.id}


def _method_map() -> list[tuple[str, str]]:
    """``babel.cfg`` sections (``[python_fstrings: marketplace/**.py]``) as extract_from_dir's method map, the
    names of its ``[extractors]`` section resolved to their ``module:function``."""
    pairs, extractors, section = [], {}, None
    for line in (ROOT / "babel.cfg").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            if ":" in section:
                method, pattern = section.split(":", 1)
                pairs.append((pattern.strip(), method.strip()))
        elif section == "extractors" and "=" in line:
            name, target = line.split("=", 1)
            extractors[name.strip()] = target.strip()
    assert pairs, "babel.cfg lists no extraction sections"
    return [(pattern, extractors.get(method, method)) for pattern, method in pairs]


def test_messages_inside_f_strings_are_extracted():
    """``_()`` written inside an f-string (the Python-rendered list parts) reaches the catalogue."""
    import io

    from marketplace.babel_extract import extract

    source = 'x = f\'<label>{_("截止时间在 N 天内")}</label>{y}\'\nz = _("普通消息")\n'
    found = [m[2] for m in extract(io.BytesIO(source.encode()), KEYWORDS, [], {})]
    assert sorted(found) == sorted(["截止时间在 N 天内", "普通消息"])
    assert "截止时间在 N 天内" in _ids(_read(TEMPLATE))


def _show(message_id) -> str:
    return message_id if isinstance(message_id, str) else " | ".join(message_id)


def test_every_template_message_has_an_english_translation():
    english = _read(ENGLISH, locale="en")
    missing = []
    for message_id in sorted(_ids(_read(TEMPLATE)), key=_show):
        message = english.get(message_id)
        if message is None:
            missing.append(f"not in messages.po: {_show(message_id)}")
        elif message.fuzzy:
            missing.append(f"fuzzy: {_show(message_id)}")
        elif isinstance(message.string, (list, tuple)):
            if not message.string or not all(form.strip() for form in message.string):
                missing.append(f"plural form missing: {_show(message_id)}")
        elif not (message.string or "").strip():
            missing.append(f"untranslated: {_show(message_id)}")
    assert not missing, (
        f"{len(missing)} message(s) lack an English translation "
        "(run `make translations` and translate translations/en/LC_MESSAGES/messages.po):\n"
        + "\n".join(missing)
    )


def test_translations_keep_their_placeholders():
    english = _read(ENGLISH, locale="en")
    problems = [
        f"{_show(message.id)}: {error}"
        for message, errors in english.check()
        for error in errors
    ]
    assert not problems, "\n".join(problems)


def test_template_contains_every_string_marked_in_the_sources():
    template = _ids(_read(TEMPLATE))
    extracted = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), _method_map(), keywords=KEYWORDS, strip_comment_tags=True,
    ):
        if message and message not in template:
            extracted.setdefault(message, f"{filename}:{lineno}")
    assert not extracted, (
        f"{len(extracted)} string(s) marked for translation are missing from translations/messages.pot "
        "(run `make translations`, then translate them):\n"
        + "\n".join(f"{where}: {_show(message)}" for message, where in sorted(extracted.items(), key=lambda kv: kv[1]))
    )
