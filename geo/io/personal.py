"""Personal data masked for tables and files: phones as 138****1234, names as 张*.

Shared by the scripts and the web app (issue 19's accounts): every table or XLSX that
leaves the core masks phones and, unless ``show_personal`` is given, names.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["NAME_COLUMNS", "PHONE_COLUMNS", "mask_name", "mask_personal", "mask_phone"]

#: Column names (after normalisation) holding a phone number or a person's name.
PHONE_COLUMNS = ("电话", "手机", "手机号", "联系电话", "联系方式", "phone", "mobile")
NAME_COLUMNS = ("姓名", "名字", "网格员", "网格长", "楼栋长", "党员", "name")

_DIGITS = re.compile(r"\d")


def mask_phone(value: object) -> str:
    """``13812341234`` -> ``138****1234``; shorter numbers keep only their last two digits.

    Empty and missing values give ``""``.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():  # a number read from Excel as a float
        text = text[:-2]
    digits = _DIGITS.findall(text)
    if not digits:
        return ""
    if len(digits) >= 11:
        return "".join(digits[:3]) + "****" + "".join(digits[-4:])
    return "*" * max(len(digits) - 2, 1) + "".join(digits[-2:])


def mask_name(value: object) -> str:
    """``张三`` -> ``张*``, ``欧阳修文`` -> ``欧***``; Latin names keep their first letter.

    Empty and missing values give ``""``.
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value).strip()
    if not text:
        return ""
    return text[0] + "*" * max(len(text) - 1, 1)


def mask_personal(frame: pd.DataFrame, *, show_personal: bool = False) -> pd.DataFrame:
    """A copy of ``frame`` with phone columns always masked and name columns masked by default.

    ``show_personal=True`` (needs the holder's authorisation) keeps names in clear; phones
    are masked even then.
    """
    out = frame.copy()
    for column in out.columns:
        key = str(column).strip().lower()
        if any(p in key for p in PHONE_COLUMNS):
            out[column] = out[column].map(mask_phone)
        elif not show_personal and key in NAME_COLUMNS:
            out[column] = out[column].map(mask_name)
    return out
