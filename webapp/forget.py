"""A person's records removed from everything the server keeps (issue 19: "removable on request").

One call (:func:`forget_person`) for the admin page (``POST /api/admin/forget-person``, here) and the command line
(``linli users forget-person``): the person (name + phone, or id) is taken out of

* the files of the instance folder that can hold people — rosters, ledgers and the study areas'
  uploaded files (``projects/<id>/``): CSV, XLSX, XLS, GeoPackage, Shapefile (zipped or loose),
  GeoJSON, and the grids documents (``grids/*.json``: 网格员, 党员中心户 fields and their edit
  history).  Every one is *rewritten* without the person's rows, none deleted: each is an input
  the app reads again (a study area's ledger or boundary, a roster), not a cache, and the app's
  exports are downloads never kept in the instance folder.  All new files are prepared before
  any is put in place, so a failure leaves every file as it was.  Kinds that may hold people but
  are not rewritten (a zip of something else, ODS, KML, PDF, Word ...) are listed for a check by hand;
* every plan, live or deleted (feature names and properties, plan names and notes);
* the audit log (an entry about them keeps its time, user and action, not its text);
* with a PostgreSQL account store, the instance folder's earlier ``users.sqlite3`` too.

The databases then drop their old copies of the changed rows (``VACUUM``).  The deletion
is itself recorded in the audit log — who asked, when, how many records in which kinds of
place — without the person's name, phone or id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request

from geo.io.forget import SCANNED_SUFFIXES, Person, StagedRewrite, is_shapefile_zip, stage_forget
from webapp import grids, rosterweb
from webapp.api import json_body
from webapp.auth import current_user, requires, users
from webapp.plans import PlanStore
from webapp.users import BaseUserStore, UserStore

logger = logging.getLogger(__name__)

__all__ = ["ForgetReport", "bp", "forget_person"]

bp = Blueprint("forget", __name__)

#: Instance files never scanned: the server's own databases and key.
_OWN = {"secret_key", "users.sqlite3", "plans.sqlite3", "jobs.sqlite3"}
_OWN_PREFIXES = ("users.sqlite3", "plans.sqlite3", "jobs.sqlite3")
#: Kinds that may hold people but are not rewritten: listed for the administrator to check by hand.
NOT_SCANNED_SUFFIXES = (".zip", ".dbf", ".ods", ".xlsb", ".kml", ".kmz", ".pdf", ".doc", ".docx", ".mdb", ".accdb")


def _has_shp(part: Path) -> bool:
    """A Shapefile part whose ``.shp`` is beside it (the part is rewritten with that ``.shp``)."""
    return any(p.stem == part.stem and p.suffix.lower() == ".shp" for p in part.parent.iterdir())


@dataclass
class ForgetReport:
    """What was removed (counts only) and what could not be looked into."""

    files: dict[str, int] = field(default_factory=dict)  #: instance file (relative path) -> rows/texts removed
    plans: int = 0
    audit: int = 0
    not_scanned: list[str] = field(default_factory=list)  #: files of kinds that are not rewritten
    dry_run: bool = False

    @property
    def total(self) -> int:
        """Records removed in all."""
        return sum(self.files.values()) + self.plans + self.audit

    def as_dict(self) -> dict:
        """The report as JSON (for the admin page)."""
        return {
            "removed": self.total,
            "files": self.files,
            "plans": self.plans,
            "audit": self.audit,
            "not_scanned": self.not_scanned,
            "dry_run": self.dry_run,
        }


def forget_person(
    person: Person,
    *,
    plans: PlanStore,
    users: BaseUserStore,
    instance: str | Path,
    actor: str,
    ip: str = "",
    dry_run: bool = False,
    hold: AbstractContextManager | None = None,
    then: Callable[[], None] | None = None,
) -> ForgetReport:
    """Remove ``person`` from the instance files, the plans and the audit log; record it (no personal data).

    ``hold`` (the server's grids lock) is held only around the databases' step and ``then`` (which
    runs inside it, e.g. dropping the grids held in memory): the folder's files, GeoPackages
    compacted included, are prepared before it, so grid requests do not wait for them.

    Raises
    ------
    InputDataError
        A file that should be rewritten cannot be read as its kind (named in the message):
        no file and no database is changed; run it again after fixing or removing the file.
    DiskFullError
        The disk filled up while the new files were prepared: likewise nothing is changed.
    """
    instance = Path(instance)
    report = ForgetReport(dry_run=dry_run)
    staged: list[StagedRewrite] = []
    try:
        # Every file's new version is prepared first; the originals are replaced only once all
        # are ready and the databases have the person out (a failure anywhere changes no file).
        for path in sorted(p for p in instance.rglob("*") if p.is_file()):
            rel = path.relative_to(instance).as_posix()
            if path.name in _OWN or path.name.startswith((".tmp-", *_OWN_PREFIXES)):
                continue
            suffix = path.suffix.lower()
            if suffix in (".shx", ".dbf", ".cpg", ".prj") and _has_shp(path):
                continue  # rewritten with its .shp
            if suffix in SCANNED_SUFFIXES and (suffix != ".zip" or is_shapefile_zip(path)):
                rewrite = stage_forget(path, person, dry_run=dry_run)
                staged.append(rewrite)
                if rewrite.removed:
                    report.files[rel] = rewrite.removed
            elif suffix in NOT_SCANNED_SUFFIXES:
                report.not_scanned.append(rel)
        with hold if hold is not None else nullcontext():
            report.plans = plans.forget_person(person, author=actor, dry_run=dry_run)
            report.audit = users.forget_in_audit(person, dry_run=dry_run)
            if then is not None:
                then()
    except BaseException:
        for rewrite in staged:
            rewrite.discard()
        raise
    for rewrite in staged:
        rewrite.commit()
    local = instance / "users.sqlite3"
    if not isinstance(users, UserStore) and local.is_file():  # accounts moved to PostgreSQL: the old file too
        old = UserStore(local)
        try:
            report.audit += old.forget_in_audit(person, dry_run=dry_run)
        finally:
            old.close()
    if not dry_run:
        kinds = f"files={sum(report.files.values())} plans={report.plans} audit={report.audit}"
        users.record(actor, "person.forget", f"removed={report.total}", kinds, ip)
    logger.info("person removed on request by %s: %d records (dry run: %s)", actor, report.total, dry_run)
    return report


@bp.post("/api/admin/forget-person")
@requires("admin")
def forget_person_route():
    """``{"name", "phone"}`` or ``{"id"}`` (``"dry_run": true`` counts only): the person taken out of
    the instance files, the plans and the audit log; the deletion is audited without their data."""
    data = json_body()
    person = Person.of(data.get("name"), data.get("phone"), data.get("id"))
    dry_run = data.get("dry_run") is True
    # No roster import writes the old rows back meanwhile (its lock over the whole removal), nor a
    # grid edit the old grids (the grids' lock over the databases' step only).
    extensions = current_app.extensions

    def reread_grids() -> None:
        if not dry_run:
            extensions.get("linli.grids", {}).clear()  # re-read from the rewritten documents

    with rosterweb._LOCK:
        report = forget_person(
            person,
            plans=current_app.extensions["linli.store"],
            users=users(),
            instance=current_app.instance_path,
            actor=current_user()["name"],
            ip=request.remote_addr or "",
            dry_run=dry_run,
            hold=grids._LOCK,
            then=reread_grids,
        )
    return jsonify(report.as_dict())
