"""The matching site fixtures (a fresh model cache for every test, ``make_firm``), shared with
``tests/test_matching_site.py`` where they are defined."""

from tests.test_matching_site import make_firm, matching_config  # noqa: F401
