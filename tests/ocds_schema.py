"""The official OCDS 1.1.5 schema for tests, resolved locally (nothing is fetched).

The folder comes from ``OCDS_SCHEMA_DIR``, else ``<project root>/../shared/data/ocds-1.1.5``. Without it the
tests that need it are skipped with the reason — unless ``REQUIRE_OCDS_SCHEMA=1`` (CI), where they fail.
"""

from __future__ import annotations

import csv
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RELEASE_URL = "https://standard.open-contracting.org/schema/1__1__5/release-schema.json"
RECORD_PACKAGE_URL = "https://standard.open-contracting.org/schema/1__1__5/record-package-schema.json"


def schema_dir() -> Path:
    return Path(os.environ.get("OCDS_SCHEMA_DIR") or ROOT.parent / "shared" / "data" / "ocds-1.1.5")


def require_schema() -> Path:
    """The schema folder, or skip (fail when ``REQUIRE_OCDS_SCHEMA=1``)."""
    folder = schema_dir()
    if not (folder / "release-schema.json").is_file():
        message = (f"the OCDS 1.1.5 schema is not at {folder} (set OCDS_SCHEMA_DIR to the folder holding "
                   "release-schema.json, release-package-schema.json and codelists/)")
        if os.environ.get("REQUIRE_OCDS_SCHEMA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return folder


def _load(name: str) -> dict[str, Any]:
    return json.loads((require_schema() / name).read_text(encoding="utf-8"))


#: The record package envelope of OCDS 1.1.5 (used when record-package-schema.json is not in the folder):
#: required uri, publisher, publishedDate, records, version; each record an ocid and its releases, embedded
#: (release schema) and sorted oldest first, with an optional compiledRelease (release schema).
_RECORD_PACKAGE_ENVELOPE = {
    "id": RECORD_PACKAGE_URL,
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["uri", "publisher", "publishedDate", "records", "version"],
    "properties": {
        "uri": {"type": "string", "format": "uri"},
        "version": {"type": "string", "pattern": "^(\\d+\\.)(\\d+)$"},
        "publisher": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "license": {"type": ["string", "null"], "format": "uri"},
        "publicationPolicy": {"type": ["string", "null"], "format": "uri"},
        "publishedDate": {"type": "string", "format": "date-time"},
        "records": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {
            "type": "object", "required": ["ocid", "releases"],
            "properties": {
                "ocid": {"type": "string"},
                "releases": {"type": "array", "minItems": 1, "items": {"$ref": RELEASE_URL}},
                "compiledRelease": {"$ref": RELEASE_URL},
            }}},
    },
}


@cache
def _validators():
    import jsonschema
    import referencing
    from referencing.jsonschema import DRAFT4

    release = _load("release-schema.json")
    package = _load("release-package-schema.json")
    record_path = require_schema() / "record-package-schema.json"
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else _RECORD_PACKAGE_ENVELOPE
    registry = referencing.Registry().with_resources([
        (RELEASE_URL, referencing.Resource(contents=release, specification=DRAFT4)),
        (RECORD_PACKAGE_URL, referencing.Resource(contents=record, specification=DRAFT4)),
    ])
    checker = jsonschema.Draft4Validator.FORMAT_CHECKER

    def make(schema):
        return jsonschema.Draft4Validator(schema, registry=registry, format_checker=checker)

    return make(release), make(package), make(record)


def _errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def release_errors(release: dict) -> list[str]:
    return _errors(_validators()[0], release)


def release_package_errors(package: dict) -> list[str]:
    return _errors(_validators()[1], package)


def record_package_errors(package: dict) -> list[str]:
    return _errors(_validators()[2], package)


@cache
def release_schema() -> dict[str, Any]:
    return _load("release-schema.json")


@cache
def codelist(name: str) -> frozenset[str]:
    with (require_schema() / "codelists" / name).open(encoding="utf-8") as handle:
        return frozenset(row["Code"] for row in csv.DictReader(handle))


def codelist_errors(release: dict, additions: dict[str, frozenset[str]]) -> list[str]:
    """Values of *open* codelist fields that are neither in the codelist CSV nor declared additions.

    (Closed codelists are enums in the schema itself, checked by :func:`release_errors`.)"""
    schema = release_schema()
    problems: list[str] = []

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
        return node

    def walk(node: dict, value: Any, path: str) -> None:
        node = resolve(node)
        if node.get("codelist") and node.get("openCodelist"):
            allowed = codelist(node["codelist"]) | additions.get(node["codelist"], frozenset())
            for item in value if isinstance(value, list) else [value]:
                if item is not None and item not in allowed:
                    problems.append(f"{path}: {item!r} not in {node['codelist']}")
            return
        if isinstance(value, dict):
            for key, child in value.items():
                if key in node.get("properties", {}):
                    walk(node["properties"][key], child, f"{path}/{key}")
        elif isinstance(value, list) and "items" in node:
            for index, child in enumerate(value):
                walk(node["items"], child, f"{path}/{index}")

    walk(schema, release, "")
    return problems
