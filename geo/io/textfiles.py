"""Reading planners' text files: the encodings Excel and Chinese tools write.

A CSV saved by Excel on a Chinese Windows desktop is GBK/GB18030; one saved as
"CSV UTF-8" starts with a byte-order mark.  Both must read (BAD_INPUTS U7).
"""

from __future__ import annotations

from pathlib import Path

from geo.errors import InputDataError

__all__ = ["TEXT_ENCODINGS", "check_input_file", "decode_text"]

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


def check_input_file(path: Path, *, what_zh: str, what_en: str, max_bytes: int) -> int:
    """Check that a planner's file exists, is not empty and is under ``max_bytes``.

    Parameters
    ----------
    path
        The file.
    what_zh, what_en
        What the file is, for the message (``"设施文件"``, ``"facility file"``).
    max_bytes
        Size cap in bytes.

    Returns
    -------
    int
        The file's size in bytes.

    Raises
    ------
    InputDataError
        Missing, empty or too large; the message names the file, never its folder.
    """
    if not path.is_file():
        raise InputDataError(f"{what_zh}不存在: {path.name} ({what_en} not found)")
    size = path.stat().st_size
    if size == 0:
        raise InputDataError(f"{what_zh}为空: {path.name} (empty file)")
    if size > max_bytes:
        raise InputDataError(f"{what_zh}过大: {path.name} ({size / 1e6:.0f} MB) (file too large)")
    return size
