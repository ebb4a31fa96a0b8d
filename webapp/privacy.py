"""Personal data shown masked: phone numbers and names of people (issue 19; the rosters come with issue 20).

Lists and maps show :func:`mask_phone` / :func:`mask_name`; only an administrator may ask an
export for the unmasked values (``?personal=1``, checked for every export route in
:mod:`webapp.auth`), and exports leave them out unless asked.
"""

from __future__ import annotations

import re

__all__ = ["mask_name", "mask_phone"]

_DIGITS = re.compile(r"\d")


def mask_phone(phone: str) -> str:
    """``13812341234`` -> ``138****1234``: the middle four digits of a mobile number hidden.

    Up to 11 digits, all but the first three and the last four are hidden; a longer number
    (``+86 138...``, ``0595-12345678``) hides the four before its last four.  A number of
    fewer than 8 digits is hidden whole.  Separators are kept.
    """
    positions = [k for k, c in enumerate(phone) if c.isascii() and c.isdigit()]
    if len(positions) < 8:
        return _DIGITS.sub("*", phone)
    # Between the first three and the last four digits; with a country prefix (+86), the
    # mobile number's own middle four.
    hidden = set(positions[3:-4]) if len(positions) <= 11 else set(positions[-8:-4])
    return "".join("*" if k in hidden else c for k, c in enumerate(phone))


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张**``, ``李四`` -> ``李*``, ``Wang Fang`` -> ``W********``: the first character only."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)
