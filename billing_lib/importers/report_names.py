"""Which files of a reports folder, and which members of a zip, are vendor reports.

A reports folder holds more than reports. Files a program leaves beside any file hold no charges
and are skipped without a word (``left_by_a_program``): the lock file Excel keeps beside a report
that is open (``~$name``), the metadata macOS writes beside a copied file (``._name``) or into a
zip it makes (``__MACOSX/``), folder settings. Anything else that is not read (a vendor's PDF
invoice, a subfolder, a zip's other members) is named with its reason (``files_not_read``, among
a run's warnings), so that nothing is left out unseen; but the subfolder ``platform/`` of the
provisioning platforms' exports (docs/monthly-close.md), which the review and
``billing customers sync`` read. A subfolder holding report files is refused by a run
(``refuse_reports_in_subfolders``), and so is a spreadsheet workbook
(``WORKBOOK_SUFFIXES``): it is most likely a report saved from Excel, and leaving it unread would
leave its charges off every invoice.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
import zlib
from pathlib import Path

from billing_lib.errors import InputError, Problem
from billing_lib.importers.spec import all_specs, choices
from billing_lib.platform_exports import PLATFORM_FOLDER

#: Endings of the files the import reads (a zip: its ``MEMBER_SUFFIXES`` members).
REPORT_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".zip")
#: Endings of the members of a zip the import reads (a zip: its members, ``MAX_ZIP_DEPTH``).
MEMBER_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet", ".zip")
#: How many zips deep the import reads: a zip's members and the members of a zip in it (a
#: zipped CUR in the month's zip); a zip in that is refused, named.
MAX_ZIP_DEPTH = 2
#: A file or member not read whose name still looks like a vendor report: a report's ending
#: followed by another one, or a compressed file or archive the import does not open
#: (``report.csv.bz2``, ``cur.parquet.zst``, ``october.7z``); ``billing import`` refuses a zip
#: holding one, and ``billing run`` a reports folder holding one (in a zip or not), rather than
#: pass over its charges (``refuse_reports_not_read``).
LOOKS_LIKE_A_REPORT = re.compile(
    r"\.(csv|tsv|parquet)\.|\.(gz|bz2|xz|zst|zstd|lz4|7z|rar|tar|tgz|z)$", re.IGNORECASE
)
#: How much of a file or member not read is looked at for a vendor report's header (a legacy
#: CUR's header runs to tens of kilobytes).
HEADER_BYTES = 1 << 20
#: How the reason a file or member is not read begins when its first line is a vendor report's
#: header (``report_by_header``): refused like a report in a container the import cannot open.
BY_HEADER = "a vendor report by its header"
#: Endings of spreadsheet workbooks: refused in a reports folder or zip (module docstring).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
#: The first bytes of an Excel 97-2003 workbook (``.xls``: an OLE2 compound file).
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: How the ``mimetype`` member of an OpenDocument spreadsheet (``.ods``) begins.
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
#: The folder of metadata macOS puts into a zip it makes (a folder of its own once unzipped).
MACOS_ZIP_FOLDER = "__MACOSX"
#: Subfolders of a reports folder that hold no vendor reports by design: macOS's zip metadata,
#: the provisioning platforms' exports.
NOT_REPORT_FOLDERS = (MACOS_ZIP_FOLDER, PLATFORM_FOLDER)
#: Names (lower case) of the folder settings Windows and macOS write into any folder.
SYSTEM_FILES = ("desktop.ini", "thumbs.db", ".ds_store")
#: How the name of an AWS delivery's manifest ends (lower case): Data Exports'
#: ``<export>-Manifest.json``, a legacy CUR's ``<report>-Manifest.json`` (``manifests``).
MANIFEST_SUFFIX = "-manifest.json"
#: The name of an Azure Cost Management export run's manifest, beside its parts (``manifests``).
AZURE_MANIFEST = "manifest.json"


def is_manifest(name: str) -> bool:
    """Whether the file or zip member ``name`` is a delivery's manifest by its name (AWS's
    ``-Manifest.json``, an Azure export run's ``manifest.json``): read to check the delivery's
    files (``manifests``), never as a report."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return (base.endswith(MANIFEST_SUFFIX) or base == AZURE_MANIFEST) and not left_by_a_program(
        name
    )


def left_by_a_program(name: str) -> bool:
    """Whether the file or zip member ``name`` is no report but a file a program leaves beside
    any file: the lock file Excel or Word keeps while a file is open (``~$``), macOS metadata of a
    copied or zipped file (``._name``, ``__MACOSX/``), the folder settings of the system."""
    path = name.replace("\\", "/")
    base = path.rsplit("/", 1)[-1]
    return (
        base.startswith(("~$", "._"))
        or path.startswith(f"{MACOS_ZIP_FOLDER}/")
        or base.lower() in SYSTEM_FILES
    )


def why_not_read(name: str, suffixes: tuple[str, ...]) -> str | None:
    """Why the file or member ``name`` is not read, to be shown: of an ending other than
    ``suffixes``. None when it is read, refused (a workbook) or left by a program."""
    lower = name.lower()
    if left_by_a_program(name) or lower.endswith(suffixes) or lower.endswith(WORKBOOK_SUFFIXES):
        return None
    if is_manifest(name):
        return None  # read as the delivery's manifest
    ending = Path(lower).suffix or "no ending"
    return f"not a vendor report ({ending}; the import reads {', '.join(suffixes)})"


def report_by_header(head: bytes) -> str | None:
    """The title of the vendor report format whose signature columns the first line of ``head``
    (the first bytes of a file not read) names, whatever its separator (comma, tab, semicolon,
    pipe) and text (UTF-8, UTF-16 with a BOM, a code page); None for anything else. A report
    saved under an ending the import does not read (Excel's "Unicode Text" and "Text (Tab
    delimited)" are ``.txt``) was listed among a run's warnings only, its charges on no invoice."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    for separator in (",", "\t", ";", "|"):
        names = {n.strip().casefold() for n in _fields(first, separator)}
        for spec in all_specs():
            if all(any(c.casefold() in names for c in choices(e)) for e in spec.signature):
                return spec.title
    return None


def _fields(line: str, separator: str) -> list[str]:
    """The fields of ``line`` split at ``separator``; none when one is longer than the csv
    module reads (``csv.field_size_limit``, 128 KiB): a minified JSON or a workbook's sheet XML
    on one line is no report's header, and its error ended the listing of the files not read
    in a traceback."""
    try:
        return next(csv.reader([line], delimiter=separator), [])
    except csv.Error:
        return []


def why_not_read_bytes(name: str, suffixes: tuple[str, ...], head: bytes) -> str | None:
    """``why_not_read`` of the file or member ``name`` whose first bytes are ``head``, saying so
    when they are a vendor report's header (``BY_HEADER``)."""
    why = why_not_read(name, suffixes)
    title = report_by_header(head) if why is not None else None
    if why is None or title is None:
        return why
    ending = Path(name.lower()).suffix or "no ending"
    return (
        f"{BY_HEADER} ({title}) in a {ending} file, which the import does not read; save it as "
        "CSV UTF-8 (.csv), or give the vendor's own file"
    )


def why_file_not_read(path: Path, suffixes: tuple[str, ...]) -> str | None:
    """``why_not_read_bytes`` of the file ``path``, its first ``HEADER_BYTES`` read only when it
    is not read (an unreadable one: ``why_not_read``)."""
    if why_not_read(path.name, suffixes) is None:
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER_BYTES)
    except OSError:
        head = b""
    return why_not_read_bytes(path.name, suffixes, head)


def workbook_refused(names: list[str]) -> None:
    """InputError naming each spreadsheet workbook among ``names`` (module docstring)."""
    workbooks = [
        n for n in names if n.lower().endswith(WORKBOOK_SUFFIXES) and not left_by_a_program(n)
    ]
    if workbooks:
        raise workbooks_error(workbooks)


def is_workbook(path: Path) -> bool:
    """Whether the file ``path`` is a spreadsheet workbook by its name or by its bytes, whatever
    its ending: an Excel 97-2003 ``.xls`` (an OLE2 compound file), or a zip holding an Office
    Open XML workbook (``xl/workbook.xml``; ``.bin`` in an ``.xlsb``) or an OpenDocument
    spreadsheet (its ``mimetype`` member). Given by name (``billing import october.xlsx``) or
    saved under a report's ending, a workbook was refused as "a zip archive" to be renamed
    ``.zip``, and so renamed, read as a zip holding no report."""
    if path.name.lower().endswith(WORKBOOK_SUFFIXES):
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(OLE2_MAGIC))
        if head.startswith(OLE2_MAGIC):
            return True
        if not head.startswith(b"PK\x03\x04"):
            return False
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if names & {"xl/workbook.xml", "xl/workbook.bin"}:
                return True
            return "mimetype" in names and zf.read("mimetype").startswith(ODS_MIMETYPE)
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError):
        return False  # unreadable: the import names what is wrong with it


def workbooks_error(workbooks: list[str]) -> InputError:
    """The InputError naming the spreadsheet workbooks ``workbooks`` among the reports."""
    expected = (
        "the vendor's report as CSV, CSV.gz, zip or Parquet: download it as CSV from the "
        "vendor's portal or save the sheet as CSV UTF-8, and move the workbook out of the folder"
    )
    return InputError(
        f"{workbooks[0]}: a spreadsheet workbook among the reports; its charges would be on no "
        f"invoice, since the import reads CSV, CSV.gz, zip and Parquet files"
        + (f" ({len(workbooks)} workbooks)" if len(workbooks) > 1 else ""),
        [Problem(n, None, None, None, expected) for n in workbooks],
    )


def report_files(folder: Path) -> list[Path]:
    """Vendor report files in ``folder`` (not recursive), in name order; InputError when the
    folder holds a spreadsheet workbook."""
    folder = Path(folder)
    if folder.is_file():
        raise InputError(
            f"{folder}: a file, not a reports folder: give the folder that holds the month's "
            "vendor reports"
        )
    if not folder.is_dir():
        raise InputError(f"{folder}: no such reports folder")
    workbook_refused([str(p) for p in sorted(folder.iterdir()) if p.is_file()])
    return reports_among(folder)


def reports_among(folder: Path) -> list[Path]:
    """The files of the folder ``folder`` (not recursive) the import reads as vendor reports, in
    name order, a spreadsheet workbook passed over: to tell the reports folder given for another
    one (the parameters), where a workbook is no report (a price list beside the YAML files)."""
    return sorted(
        p
        for p in Path(folder).iterdir()
        if p.is_file()
        and p.name.lower().endswith(REPORT_SUFFIXES)
        and not left_by_a_program(p.name)
    )


def manifest_files(folder: Path) -> list[Path]:
    """The delivery manifests (AWS's, Azure's) in the reports folder ``folder`` (not
    recursive), in name order: given to the import beside ``report_files`` (``manifests``)."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and is_manifest(p.name))


def reports_in_subfolders(folder: Path) -> dict[str, list[str]]:
    """Per subfolder of ``folder`` (but hidden ones, macOS's zip folder and ``platform/``), the
    files at any depth below it that the import would read were they in ``folder``
    (``REPORT_SUFFIXES``), named relative to ``folder``: a run reads the folder it is given, so
    their charges would be on no invoice (``refuse_reports_in_subfolders``)."""
    held: dict[str, list[str]] = {}
    for sub in sorted(Path(folder).iterdir()):
        if not sub.is_dir() or sub.name.startswith(".") or sub.name in NOT_REPORT_FOLDERS:
            continue
        files = sorted(
            q.relative_to(folder).as_posix()
            for q in sub.rglob("*")
            if q.is_file()
            and q.name.lower().endswith(REPORT_SUFFIXES)
            and not left_by_a_program(q.name)
            and not any(part.startswith(".") for part in q.relative_to(sub).parts)
        )
        if files:
            held[sub.name] = files
    return held


def refuse_reports_in_subfolders(folder: Path) -> None:
    """InputError naming each subfolder of the reports folder ``folder`` that holds report
    files (``reports_in_subfolders``): AWS Data Exports lay a month out as
    ``<export>/data/BILLING_PERIOD=2026-10/*.parquet``, and a copy of that tree in the month's
    folder was listed among the warnings while that vendor's charges were on no invoice."""
    held = reports_in_subfolders(folder)
    if not held:
        return
    name, files = next(iter(held.items()))
    count = sum(len(f) for f in held.values())
    raise InputError(
        f"{Path(folder) / name}: a subfolder holding {len(files)} vendor report file(s) "
        f"({files[0]}{', ...' if len(files) > 1 else ''})"
        + (f"; {len(held)} such subfolders, {count} files" if len(held) > 1 else "")
        + ": a run reads the reports of the folder it is given, not of its subfolders, so "
        f"their charges would be on no invoice. Move the month's reports into {folder} itself "
        "(each file once), and other months' files out of it",
        [
            Problem(str(Path(folder) / f), None, None, None, f"a report in {folder} itself")
            for files in held.values()
            for f in files
        ],
    )


def zip_members(zf: zipfile.ZipFile, path: Path) -> list[str]:
    """The members of the zip ``path`` the import reads, in name order; InputError when it holds
    a spreadsheet workbook."""
    names = [m for m in zf.namelist() if not m.endswith("/")]
    workbook_refused([f"{path}!{m}" for m in names])
    return sorted(
        m for m in names if m.lower().endswith(MEMBER_SUFFIXES) and not left_by_a_program(m)
    )


def files_not_read(folder: Path) -> list[tuple[str, str]]:
    """(name, why) of every file, subfolder and zip member in ``folder`` that the import does
    not read, but hidden ones and those left by a program: what a run lists among its warnings.
    Names are relative to ``folder``."""
    folder = Path(folder)
    found: list[tuple[str, str]] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue  # hidden (.git, .gitignore): kept by tools, never a vendor's report
        if p.is_dir():
            if p.name not in NOT_REPORT_FOLDERS:
                found.append((p.name, "a subfolder: the reports are read from the folder itself"))
        elif why := why_file_not_read(p, REPORT_SUFFIXES):
            found.append((p.name, why))
        elif p.name.lower().endswith(".zip"):
            found += _members_not_read(p)
    return found


def _members_not_read(path: Path, shown: str | None = None) -> list[tuple[str, str]]:
    """(``name.zip!member``, why) of the zip's members that are not read, those of a zip in it
    too (``MAX_ZIP_DEPTH``); ``shown``: the zip's name in them (its file name by default). None
    when the zip cannot be opened (the import names that)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _zip_not_read(zf, shown or path.name, 1)
    except (OSError, zipfile.BadZipFile):
        return []


def _zip_not_read(zf: zipfile.ZipFile, shown: str, depth: int) -> list[tuple[str, str]]:
    """``_members_not_read`` of the open zip ``zf`` (``depth``: 1 for a zip given, 2 for a zip in
    it); a zip among its members is opened in place (``ZipFile`` over the member's stream) to
    list its own members, as the import reads them."""
    found: list[tuple[str, str]] = []
    for m in (m for m in zf.namelist() if not m.endswith("/")):
        if why := why_not_read(m, MEMBER_SUFFIXES):
            head = _head(zf, m)
            found.append((f"{shown}!{m}", why_not_read_bytes(m, MEMBER_SUFFIXES, head) or why))
        elif m.lower().endswith(".zip") and not left_by_a_program(m) and depth < MAX_ZIP_DEPTH:
            try:
                with zf.open(m) as fh, zipfile.ZipFile(fh) as inner:
                    found += _zip_not_read(inner, f"{shown}!{m}", depth + 1)
            except (OSError, zipfile.BadZipFile):
                continue  # the import names it
    return found


def _head(zf: zipfile.ZipFile, member: str) -> bytes:
    """The first ``HEADER_BYTES`` of ``member`` of ``zf``; none when they cannot be read."""
    try:
        with zf.open(member) as fh:
            return fh.read(HEADER_BYTES)
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError):
        return b""  # damaged or encrypted: listed by its name, as before


def zip_members_not_read(path: Path) -> list[tuple[str, str]]:
    """(``path!member``, why) of every member of the zip ``path`` (and of a zip in it) that the
    import does not read, as a run lists them among its warnings: for ``billing import``."""
    return _members_not_read(Path(path), str(path))


def looks_like_a_report(name: str, why: str = "") -> bool:
    """Whether the file or member ``name``, not read for the reason ``why``, looks like a vendor
    report: by its name (``LOOKS_LIKE_A_REPORT``) or by its header (``BY_HEADER``)."""
    return why.startswith(BY_HEADER) or bool(LOOKS_LIKE_A_REPORT.search(name.rsplit("!", 1)[-1]))


def reports_not_read(folder: Path) -> list[tuple[str, str]]:
    """(name, why) of the files and zip members of the reports folder ``folder`` that are not
    read but look like a vendor report (``looks_like_a_report``; ``files_not_read``'s names)."""
    folder = Path(folder)
    return [
        (name, why)
        for name, why in files_not_read(folder)
        if looks_like_a_report(name, why) and not (folder / name).is_dir()
    ]


def refuse_reports_not_read(found: list[tuple[str, str]]) -> None:
    """InputError naming each of ``found`` ((name, why) of files or zip members not read,
    ``zip!member``) that looks like a vendor report the import cannot open (``cur.csv.bz2``, a
    ``.7z``): left unread, its charges would be on no invoice while the run or import goes
    through with only a warning."""
    reports = [(name, why) for name, why in found if looks_like_a_report(name, why)]
    if not reports:
        return
    raise InputError(
        f"{reports[0][0]}: looks like a vendor report but is not read: {reports[0][1]}"
        + (f" ({len(reports)} such files or members)" if len(reports) > 1 else "")
        + "; its charges would be on no invoice. Give the report as .csv, .csv.gz, .tsv, "
        ".parquet or .zip (unpacked, or saved as CSV; a zip in the zip is read)",
        [
            Problem(name, None, None, None, "a report as .csv, .csv.gz, .tsv, .parquet or .zip")
            for name, _ in reports
        ],
    )
