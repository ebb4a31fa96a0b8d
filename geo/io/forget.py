"""A person's records removed on request: roster rows, grid fields and any text naming them.

Issue 19: personal data (grid staff, party members, residents with special needs) is
removable on request.  A person is named by name and phone number, or by an id (staff
number, ID-card number): a name alone is too common (张伟) to remove anything by.

* :func:`row_matches` — a table row (a roster line) is the person's when one cell is the name
  and one cell holds the phone's digits, or one cell is the id;
* :func:`mentions` — a free text (a grid's 网格员 field "张三 13812345678", an audit detail) is
  about the person when it holds the id, or the name and no phone number but theirs;
* :func:`redact_text` — a free text (a plan's notes) with their name, phone and id replaced;
* :func:`forget_in_value` — a JSON document with every string about the person taken out
  (dropped from lists, emptied in objects; keys untouched);
* :func:`forget_in_file` — a CSV, XLSX or (Geo)JSON file rewritten without the person (atomically,
  the rest of the file as it was); other kinds are reported as not scanned.

Nothing here logs or returns the personal values themselves: only where and how many.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from geo.errors import InputDataError
from geo.io.export import atomic_write

__all__ = [
    "SCANNED_SUFFIXES",
    "Person",
    "forget_in_file",
    "forget_in_value",
    "mentions",
    "redact_text",
    "row_matches",
]

#: Files whose content :func:`forget_in_file` can rewrite.
SCANNED_SUFFIXES = (".csv", ".xlsx", ".json", ".geojson")
#: What separates the words of a free text (Chinese has no spaces: punctuation, digits, Latin letters).
_WORDS = re.compile(r"[\s,，、;；:：/|()（）\[\]【】<>《》\"'“”‘’=+\-_.。!！?？#*&@A-Za-z0-9]+")
#: What a removed piece of free text becomes.
REDACTED = "[已删除]"
#: A phone number inside a text: 7 digits or more, separators allowed between them.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?\d(?:[ -]?\d){6,}(?!\d)")
MAX_FIELD_CHARS = 64


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())


@dataclass(frozen=True)
class Person:
    """Who is to be forgotten: ``name`` with ``phone``, or ``person_id`` (either may come with the other)."""

    name: str = ""
    phone: str = ""
    person_id: str = ""

    @classmethod
    def of(cls, name: object = "", phone: object = "", person_id: object = "") -> Person:
        """A checked person; :class:`InputDataError` unless name + phone (7+ digits) or an id is given."""
        values = []
        for field, value in (("姓名 name", name), ("电话 phone", phone), ("编号 id", person_id)):
            if value is None:
                value = ""
            if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS or "\x00" in value:
                raise InputDataError(f"{field} 应为不超过 {MAX_FIELD_CHARS} 个字符的文字 ({field}: short text)")
            values.append(value.strip())
        name, phone, person_id = values
        if phone and len(_digits(phone)) < 7:
            raise InputDataError("电话 phone 应至少有 7 位数字 (a phone number needs 7 digits or more)")
        if not person_id and not (name and phone):
            raise InputDataError(
                "请给出姓名和电话，或编号：只凭姓名无法确定是哪一个人 "
                "(give the name and the phone number, or an id: a name alone does not tell who)"
            )
        return cls(name=name, phone=phone, person_id=person_id)

    @property
    def phone_digits(self) -> str:
        """The phone's digits without a +86 prefix."""
        digits = _digits(self.phone)
        return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def _phone_shaped(text: str) -> bool:
    """A number that can be a phone: a mobile (11 digits from 1), a landline with its area code
    (10-12 digits from 0) or without (7-8), with or without 86; not an administrative or grid code
    (9, 12 or 14 digits from 35...)."""
    digits = _digits(text)
    digits = digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    return (
        len(digits) in (7, 8)
        or (len(digits) == 11 and digits.startswith("1"))
        or (10 <= len(digits) <= 12 and digits.startswith("0") and not digits.startswith("00"))
    )


def _same_phone(text: str, person: Person) -> bool:
    digits = _digits(text)
    digits = digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
    return bool(person.phone_digits) and digits == person.phone_digits


def _cell(value: object) -> str:
    text = "" if value is None else str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text  # a number read as a float


def row_matches(cells: Sequence[object], person: Person) -> bool:
    """A table row is the person's: a cell is the id, or a cell is the name and a cell holds their phone."""
    texts = [_cell(c) for c in cells]
    if person.person_id and person.person_id in texts:
        return True
    if not (person.name and person.phone):
        return False
    return person.name in texts and any(_same_phone(t, person) for t in texts)


def mentions(text: str, person: Person) -> bool:
    """A free text is about the person: it holds the id; or their phone and their name; or their
    name as a word of its own (``张三``, ``网格员 张三``, not ``张三丰``) and no phone but theirs."""
    if person.person_id and re.search(rf"(?<![\w]){re.escape(person.person_id)}(?![\w])", text):
        return True
    if not person.name or person.name not in text:
        return False
    phones = [p for p in _PHONE.findall(text) if _phone_shaped(p)]
    if any(not _same_phone(p, person) for p in phones):
        return False  # another phone beside the name: someone else of that name
    return bool(phones) or person.name in _WORDS.split(text)


def redact_text(text: str, person: Person) -> tuple[str, int]:
    """A free text (a plan's notes) with the person's name, phone and id replaced by :data:`REDACTED`,
    when it is about them (:func:`mentions`); and how many pieces were replaced."""
    if not mentions(text, person):
        return text, 0
    n = 0
    for phone in _PHONE.findall(text):
        if _same_phone(phone, person):
            text = text.replace(phone, REDACTED)
            n += 1
    for piece in (person.person_id, person.name):
        if piece and piece in text:
            n += text.count(piece)
            text = text.replace(piece, REDACTED)
    return text, n


def forget_in_value(value: object, person: Person) -> tuple[object, int]:
    """``value`` (parsed JSON) with every string about the person taken out, and how many were.

    In a list the string is dropped, in an object its value becomes ``""``; an object that is the
    person's record (:func:`row_matches` over its values) has its name, phone and id emptied.
    """
    if isinstance(value, str):
        return ("", 1) if mentions(value, person) else (value, 0)
    if isinstance(value, list):
        out, n = [], 0
        for item in value:
            if isinstance(item, str) and mentions(item, person):
                n += 1
                continue
            new, k = forget_in_value(item, person)
            out.append(new)
            n += k
        return out, n
    if isinstance(value, dict):
        result: dict[str, object] = {}
        n = 0
        # An object that is a record of the person (姓名 and 电话 as two of its values, as a roster
        # row turned into properties): its name, phone and id values are emptied.
        scalars = [v for v in value.values() if isinstance(v, str | int | float) and not isinstance(v, bool)]
        record = row_matches(scalars, person)
        # ... and one with another phone beside the name is someone else's (another 张三).
        foreign = not record and any(
            _PHONE.fullmatch(_cell(v)) and _phone_shaped(_cell(v)) and not _same_phone(_cell(v), person)
            for v in scalars
        )
        for key, item in value.items():
            if (
                record
                and isinstance(item, str | int | float)
                and not isinstance(item, bool)
                and _is_identifier(item, person)
            ):
                result[key], k = "", 1
            elif foreign and isinstance(item, str) and not (person.person_id and person.person_id in item):
                result[key], k = item, 0
            else:
                result[key], k = forget_in_value(item, person)
            n += k
        return result, n
    return value, 0


def _is_identifier(value: object, person: Person) -> bool:
    text = _cell(value)
    return (text in (person.name, person.person_id) and bool(text)) or _same_phone(text, person)


def _csv_encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"  # written back with its BOM (Excel needs it), and one without stays without
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise InputDataError("CSV 文件编码无法识别 (the CSV is neither UTF-8 nor GBK)")


def _forget_csv(path: Path, person: Person, dry_run: bool) -> int:
    data = path.read_bytes()
    encoding = _csv_encoding(data)
    text = data.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    kept = [r for r in rows if not row_matches(r, person)]
    removed = len(rows) - len(kept)
    if removed and not dry_run:
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(kept)
        out = buffer.getvalue().encode(encoding)
        atomic_write(path, lambda tmp: tmp.write_bytes(out))
    return removed


def _forget_xlsx(path: Path, person: Person, dry_run: bool) -> int:
    import openpyxl

    book = openpyxl.load_workbook(path)  # not read-only: rows are deleted in place, the rest kept
    removed = 0
    for sheet in book.worksheets:
        rows = [k for k, row in enumerate(sheet.iter_rows(values_only=True), start=1) if row_matches(list(row), person)]
        for k in reversed(rows):
            sheet.delete_rows(k)
        removed += len(rows)
    if removed and not dry_run:
        atomic_write(path, book.save)
    book.close()
    return removed


def _forget_json(path: Path, person: Person, dry_run: bool) -> int:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputDataError(f"{path.name} 不是有效的 JSON (not valid JSON)") from exc
    new, removed = forget_in_value(document, person)
    if removed and not dry_run:
        out = json.dumps(new, ensure_ascii=False).encode("utf-8")
        atomic_write(path, lambda tmp: tmp.write_bytes(out))
    return removed


def forget_in_file(path: str | Path, person: Person, *, dry_run: bool = False) -> int:
    """Remove the person from one file: roster rows of a CSV/XLSX, texts of a JSON document.

    Parameters
    ----------
    path
        A ``.csv`` (UTF-8 or GBK, written back in its encoding), ``.xlsx`` (rows deleted,
        formatting kept) or ``.json`` file.
    person
        Who to remove (:meth:`Person.of`).
    dry_run
        Count only; the file is not touched.

    Returns
    -------
    int
        Rows or texts removed (0: the file is left as it was).

    Raises
    ------
    InputDataError
        Another kind of file, or one that cannot be read as its kind.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _forget_csv(path, person, dry_run)
    if suffix == ".xlsx":
        return _forget_xlsx(path, person, dry_run)
    if suffix in (".json", ".geojson"):
        return _forget_json(path, person, dry_run)
    raise InputDataError(f"{path.name}: 只能处理 CSV、XLSX、JSON 文件 (only CSV, XLSX and JSON files are rewritten)")
