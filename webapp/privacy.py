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


# --- h-roster (issue 20): who sees what of an imported roster -------------------------------------

#: What a role sees of a roster imported in the grids panel (:mod:`webapp.rosterweb`):
#: ``rows`` — the unplaced rows listed (line, role, name masked, phone masked, compound, why);
#: ``names`` — the grid organisation's names (网格长/网格员/楼栋长/党员中心户), masked 张*, on the
#: card and in the organisation chart, as the grids' own 网格员 field is shown to everyone signed in;
#: counts per grid and role and the flags are for every role that reads.  In-service members
#: (在职党员, registered where they live) are never named, only counted.
ROSTER_VIEW: dict[str, frozenset[str]] = {
    "admin": frozenset({"rows", "names"}),
    "planner": frozenset({"rows", "names"}),
    "viewer": frozenset({"names"}),
}


def roster_view(role: str) -> frozenset[str]:
    """What ``role`` sees of a roster besides counts and flags (:data:`ROSTER_VIEW`; nothing for an unknown role).

    Names in clear are for an administrator who asks ``?personal=1`` only (as for every export);
    phones are masked for everyone, always.
    """
    return ROSTER_VIEW.get(role, frozenset())
