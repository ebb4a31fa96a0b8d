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
* :func:`forget_in_file` — a CSV, XLSX, XLS, (Geo)JSON, GeoPackage or Shapefile (zipped or loose)
  rewritten without the person (atomically, the rest of the file as it was);
  :func:`stage_forget` prepares such a rewrite without putting it in place, so that a caller
  can prepare every file first and replace them only when all are ready.

Nothing here logs or returns the personal values themselves: only where and how many.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import sqlite3
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from geo.errors import InputDataError
from geo.io.export import stage_write

__all__ = [
    "SCANNED_SUFFIXES",
    "Person",
    "StagedRewrite",
    "forget_in_file",
    "forget_in_value",
    "is_shapefile_zip",
    "mentions",
    "redact_text",
    "row_matches",
    "stage_forget",
]

#: Files whose content :func:`forget_in_file` can rewrite (a ``.zip`` when it holds a Shapefile).
SCANNED_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls", ".json", ".geojson", ".gpkg", ".zip", ".shp")
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


#: A kind's rewrite: the rows or texts removed, and what writes the new file (None: nothing removed).
_Plan = tuple[int, Callable[[Path], object] | None]


def _forget_csv(path: Path, person: Person) -> _Plan:
    data = path.read_bytes()
    encoding = _csv_encoding(data)
    text = data.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    kept = [r for r in rows if not row_matches(r, person)]
    removed = len(rows) - len(kept)
    if not removed:
        return 0, None
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(kept)
    out = buffer.getvalue().encode(encoding)
    return removed, lambda tmp: tmp.write_bytes(out)


def _forget_xlsx(path: Path, person: Person) -> _Plan:
    import openpyxl

    # Not read-only: rows are deleted in place, the rest kept (macros of an .xlsm too).
    book = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
    removed = 0
    for sheet in book.worksheets:
        rows = [k for k, row in enumerate(sheet.iter_rows(values_only=True), start=1) if row_matches(list(row), person)]
        for k in reversed(rows):
            sheet.delete_rows(k)
        removed += len(rows)
    book.close()
    return removed, (book.save if removed else None)


def _forget_xls(path: Path, person: Person) -> _Plan:
    """An Excel 97-2003 workbook: rewritten (xlwt) with every sheet's values, dates, merged
    cells and column widths, without the person's rows; fonts and colours are not carried."""
    import xlrd

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True)
    except Exception as exc:  # xlrd raises its own XLRDError, struct.error ... on a damaged file
        raise InputDataError(
            f"{path.name} 无法作为 Excel 97-2003 文件读取 (cannot read the .xls: {type(exc).__name__})"
        ) from exc
    sheets = []
    removed = 0
    for sheet in book.sheets():
        gone = {r for r in range(sheet.nrows) if row_matches(sheet.row_values(r), person)}
        removed += len(gone)
        sheets.append((sheet, gone))
    if not removed:
        return 0, None

    def write(tmp: Path) -> None:
        import xlwt

        out = xlwt.Workbook(encoding="utf-8")
        date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
        for sheet, gone in sheets:
            target = out.add_sheet(sheet.name, cell_overwrite_ok=True)
            new_row: dict[int, int] = {}
            for r in range(sheet.nrows):
                if r in gone:
                    continue
                new_row[r] = len(new_row)
                for c, cell in enumerate(sheet.row(r)):
                    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                        continue
                    if cell.ctype == xlrd.XL_CELL_DATE:
                        target.write(new_row[r], c, cell.value, date_style)
                    elif cell.ctype == xlrd.XL_CELL_ERROR:
                        continue
                    else:
                        target.write(new_row[r], c, cell.value)
            for rlo, rhi, clo, chi in sheet.merged_cells:  # xlrd: half-open ranges
                kept = [new_row[r] for r in range(rlo, rhi) if r in new_row]
                if kept and (len(kept) > 1 or chi - clo > 1):
                    target.merge(kept[0], kept[-1], clo, chi - 1)
            for c, info in sheet.colinfo_map.items():
                target.col(c).width = info.width
        out.save(str(tmp))

    return removed, write


def _forget_json(path: Path, person: Person) -> _Plan:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputDataError(f"{path.name} 不是有效的 JSON (not valid JSON)") from exc
    new, removed = forget_in_value(document, person)
    if not removed:
        return 0, None
    out = json.dumps(new, ensure_ascii=False).encode("utf-8")
    return removed, lambda tmp: tmp.write_bytes(out)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _gpkg_rows(con: sqlite3.Connection, person: Person) -> dict[str, list[int]]:
    """Per feature or attribute table of a GeoPackage, the rowids of the person's rows (attributes only)."""
    tables = [
        r[0] for r in con.execute("SELECT table_name FROM gpkg_contents WHERE data_type IN ('features', 'attributes')")
    ]
    geometry = {r[0]: r[1] for r in con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns")}
    found: dict[str, list[int]] = {}
    for table in tables:
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({_quoted(table)})") if r[1] != geometry.get(table)]
        if not columns:
            continue
        names = ", ".join(_quoted(c) for c in columns)
        rows = con.execute(f"SELECT rowid, {names} FROM {_quoted(table)}")  # names from the file, quoted
        ids = [r[0] for r in rows if row_matches([v for v in r[1:] if not isinstance(v, bytes)], person)]
        if ids:
            found[table] = ids
    return found


def _forget_gpkg(path: Path, person: Person) -> _Plan:
    """A GeoPackage: the person's rows deleted from every feature and attribute table, in a copy
    that is then compacted (``VACUUM``: no free page keeps them); styles, other tables and
    metadata as they were.  As at upload, a file with views or virtual tables as layers, or
    triggers beyond the standard's own (which the deletion would run), is refused first."""
    from geo.io.uploads import check_gpkg_tables

    check_gpkg_tables(path, path.name)  # plain tables and the standard's own triggers only, as at upload
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = _gpkg_rows(con, person)
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise InputDataError(
            f"{path.name} 不是可读的 GeoPackage (not a readable GeoPackage): {type(exc).__name__}"
        ) from exc
    removed = sum(len(ids) for ids in found.values())
    if not removed:
        return 0, None

    def write(tmp: Path) -> None:
        # SQLite's backup, not a file copy: rows still in a -wal beside a GeoPackage are part of it.
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = DELETE")
            con.execute("BEGIN")
            for table, ids in found.items():
                con.executemany(f"DELETE FROM {_quoted(table)} WHERE rowid = ?", [(i,) for i in ids])
            con.execute("COMMIT")
            con.execute("VACUUM")
        finally:
            con.close()

    return removed, write


def _shapefile_parts(shp: bytes, shx: bytes, dbf: bytes, person: Person) -> tuple[int, tuple[bytes, bytes, bytes]]:
    """A shapefile's three parts without the person's records (shapes and attributes kept in step)."""
    import shapefile

    from geo.io.uploads import dbf_text_encoding

    encoding = dbf_text_encoding(dbf)
    try:
        reader = shapefile.Reader(shp=io.BytesIO(shp), shx=io.BytesIO(shx), dbf=io.BytesIO(dbf), encoding=encoding)
        records = list(reader.iterShapeRecords())
    except Exception as exc:  # pyshp raises ShapefileException, struct.error ... on a damaged file
        raise InputDataError(f"Shapefile 无法读取 (cannot read the shapefile): {type(exc).__name__}") from exc
    kept = [r for r in records if not row_matches(list(r.record), person)]
    removed = len(records) - len(kept)
    if not removed:
        return 0, (shp, shx, dbf)
    out = [io.BytesIO(), io.BytesIO(), io.BytesIO()]
    writer = shapefile.Writer(shapeType=reader.shapeType, encoding=encoding, shp=out[0], shx=out[1], dbf=out[2])
    writer.fields = list(reader.fields[1:])  # without the deletion flag
    for item in kept:
        writer.shape(item.shape)
        writer.record(*item.record)
    writer.close()
    return removed, (out[0].getvalue(), out[1].getvalue(), out[2].getvalue())


def _forget_shapefile_zip(path: Path, person: Person) -> _Plan:
    """A zipped Shapefile: each ``.shp`` (with its ``.shx`` and ``.dbf``) without the person's
    records; every other member (``.prj``, ``.cpg`` ...) copied as it was."""
    from geo.io.uploads import MAX_UNZIPPED_BYTES

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
                raise InputDataError(f"{path.name} 解压后过大，无法改写 (too large to rewrite)")
            members = {i.filename: archive.read(i) for i in infos}
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputDataError(f"{path.name} 不是有效的 zip 文件 (not a valid zip)") from exc
    lower = {name.lower(): name for name in members}
    removed = 0
    new = dict(members)
    for name in members:
        stem, suffix = name[:-4], name[-4:].lower()
        if suffix != ".shp":
            continue
        shx, dbf = lower.get(stem.lower() + ".shx"), lower.get(stem.lower() + ".dbf")
        if shx is None or dbf is None:
            raise InputDataError(f"{path.name}: {name} 缺少 .shx 或 .dbf (a .shp without its .shx or .dbf)")
        n, parts = _shapefile_parts(members[name], members[shx], members[dbf], person)
        removed += n
        new[name], new[shx], new[dbf] = parts
    if not removed:
        return 0, None

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w") as out:
            for info in infos:
                out.writestr(info, new[info.filename], compress_type=info.compress_type)

    return removed, write


def is_shapefile_zip(path: str | Path) -> bool:
    """A zip holding at least one ``.shp`` (a zip of anything else is not rewritten)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.lower().endswith(".shp") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


@dataclass
class StagedRewrite:
    """A file's rewrite without the person, prepared but not yet in place.

    ``removed`` rows or texts; ``staged``: (new file, the file it replaces) pairs, fsynced beside
    their targets.  :meth:`commit` renames them over the originals, :meth:`discard` removes them:
    several files can be prepared first and replaced only once all are ready.
    """

    path: Path
    removed: int
    staged: list[tuple[Path, Path]] = dataclasses.field(default_factory=list)

    def commit(self) -> None:
        """Put the new files in place (each an atomic rename).  A GeoPackage's old ``-wal`` and
        ``-shm`` go with it: they belong to the replaced file (whose rows the new one holds)."""
        for new, target in self.staged:
            os.replace(new, target)
            if target.suffix.lower() == ".gpkg":
                for side in ("-wal", "-shm"):
                    Path(f"{target}{side}").unlink(missing_ok=True)
        self.staged = []

    def discard(self) -> None:
        """Remove the prepared files; the originals stay as they were."""
        for new, _ in self.staged:
            new.unlink(missing_ok=True)
        self.staged = []


def stage_forget(path: str | Path, person: Person, *, dry_run: bool = False) -> StagedRewrite:
    """Prepare one file's rewrite without the person (see :func:`forget_in_file`); nothing is
    replaced until :meth:`StagedRewrite.commit`.  A loose ``.shp`` is rewritten with its ``.shx``
    and ``.dbf``.

    Raises
    ------
    InputDataError
        A kind that is not rewritten, or a file that cannot be read as its kind (nothing is left behind).
    DiskFullError
        The disk filled up while preparing (nothing is left behind).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".shp":
        return _stage_loose_shapefile(path, person, dry_run)
    kinds: dict[str, Callable[[Path, Person], _Plan]] = {
        ".csv": _forget_csv,
        ".xlsx": _forget_xlsx,
        ".xlsm": _forget_xlsx,
        ".xls": _forget_xls,
        ".json": _forget_json,
        ".geojson": _forget_json,
        ".gpkg": _forget_gpkg,
        ".zip": _forget_shapefile_zip,
    }
    if suffix not in kinds or (suffix == ".zip" and not is_shapefile_zip(path)):
        raise InputDataError(
            f"{path.name}: 只能处理 CSV、XLSX、XLS、JSON、GeoPackage 与 Shapefile 文件 "
            "(only CSV, XLSX, XLS, JSON, GeoPackage and Shapefile files are rewritten)"
        )
    removed, write = kinds[suffix](path, person)
    staged = StagedRewrite(path, removed)
    if write is not None and not dry_run:
        staged.staged.append((stage_write(path, write), path))
    return staged


def _writer(data: bytes) -> Callable[[Path], object]:
    return lambda tmp: tmp.write_bytes(data)


def _stage_loose_shapefile(path: Path, person: Person, dry_run: bool) -> StagedRewrite:
    parts = [path.with_suffix(s) for s in (".shp", ".shx", ".dbf")]
    parts = [next((p for p in path.parent.iterdir() if p.name.lower() == q.name.lower()), q) for q in parts]
    if not all(p.is_file() for p in parts):
        raise InputDataError(f"{path.name} 缺少 .shx 或 .dbf (a .shp without its .shx or .dbf)")
    shp, shx, dbf = (p.read_bytes() for p in parts)
    removed, new = _shapefile_parts(shp, shx, dbf, person)
    staged = StagedRewrite(path, removed)
    if removed and not dry_run:
        try:
            for target, data in zip(parts, new, strict=True):
                staged.staged.append((stage_write(target, _writer(data)), target))
        except BaseException:
            staged.discard()
            raise
    return staged


def forget_in_file(path: str | Path, person: Person, *, dry_run: bool = False) -> int:
    """Remove the person from one file: rows of a table, texts of a JSON document.

    Parameters
    ----------
    path
        A ``.csv`` (UTF-8 or GBK, written back in its encoding), ``.xlsx``/``.xlsm`` (rows
        deleted, formatting kept), ``.xls`` (rewritten: values, dates, merged cells, column
        widths), ``.json``/``.geojson``, ``.gpkg`` (rows deleted from every feature and
        attribute table, then compacted), a zipped Shapefile ``.zip`` or a ``.shp`` with its
        ``.shx`` and ``.dbf`` (records removed, shapes kept in step, other members as they were).
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
        Another kind of file, or one that cannot be read as its kind (the file is left as it was).
    """
    staged = stage_forget(path, person, dry_run=dry_run)
    staged.commit()
    return staged.removed
