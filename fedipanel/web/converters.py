"""URL converters shared by every route."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

# Ids are 64-bit signed integers in both databases; a larger one cannot name a row.
MAX_ID = 2**63 - 1


def not_above(limit: int) -> str:
    """Return a regular expression matching the whole numbers from 0 to `limit`."""
    digits = str(limit)
    size = len(digits)
    options = [f"[0-9]{{1,{size - 1}}}"] if size > 1 else []
    for at, digit in enumerate(digits):
        if digit != "0":
            options.append(f"{digits[:at]}[0-{int(digit) - 1}][0-9]{{{size - at - 1}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<int:...>` matching only what a database id can hold, so a larger number is a 404.

    The bound is in the pattern rather than in `to_python` so that a path another rule serves
    with other methods answers 404, not 405.
    """

    regex = not_above(MAX_ID)
    max = MAX_ID
