"""Reading planners' text files: the encodings Excel and Chinese tools write.

A CSV saved by Excel on a Chinese Windows desktop is GBK/GB18030; one saved as
"CSV UTF-8" starts with a byte-order mark.  Both must read (docs/bad-inputs.md U7).
"""

from __future__ import annotations

from geo.errors import InputDataError

__all__ = ["TEXT_ENCODINGS", "decode_text"]

#: Tried in this order: UTF-8 (with or without BOM), then GB18030 (a superset of GBK).
TEXT_ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(raw: bytes, name: str) -> str:
    """Decode a text file's bytes as UTF-8 or GB18030.

    Parameters
    ----------
    raw
        The file's bytes.
    name
        The file's name as the planner knows it, for the message.

    Raises
    ------
    InputDataError
        If neither encoding decodes it.
    """
    for encoding in TEXT_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputDataError(f"无法识别 {name} 的编码，请另存为 UTF-8 或 GBK (unknown text encoding)")
