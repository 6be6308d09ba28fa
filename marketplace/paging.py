"""Which page links a pager shows; the one rule behind the ``pager`` macro in ``templates/_macros.html``."""

from __future__ import annotations


def page_numbers(page: int, pages: int) -> list[int | None]:
    """Page links to show: the first two, the last two and two either side of *page* (``None`` = one gap).

    Consecutive hidden pages collapse into a single gap, so a pager never shows two ellipses in a row;
    a gap of exactly one page shows that page instead of an ellipsis.
    """
    shown: list[int | None] = []
    for number in range(1, pages + 1):
        if number <= 2 or number > pages - 2 or abs(number - page) <= 2:
            shown.append(number)
        elif shown and shown[-1] is not None:
            shown.append(None)
    # A gap hiding one page only: show the page (same width, one less click).
    for index, value in enumerate(shown):
        if value is None and 0 < index < len(shown) - 1:
            before, after = shown[index - 1], shown[index + 1]
            if before is not None and after is not None and after - before == 2:
                shown[index] = before + 1
    return shown
