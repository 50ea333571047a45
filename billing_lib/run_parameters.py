"""The parameters of one billing run (the notebook's ``parameters`` cell, ``billing run``'s
options), checked before anything is read or written: the period as ``YYYY-MM`` text, folders
resolved from the project folder, the reports folder holding only known vendor reports, a
period whose run is finalised refused, and a report a run of another period billed refused
(``billed_reports``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from billing_lib.billed_reports import CONTENT, TEXT, Digest, check_not_billed_before
from billing_lib.errors import InputError, ParameterError
from billing_lib.importers import report_files
from billing_lib.importers.manifests import manifests_of
from billing_lib.importers.reader import open_sources
from billing_lib.importers.report_names import (
    manifest_files,
    refuse_reports_in_subfolders,
    refuse_reports_not_read,
    reports_in_subfolders,
    reports_not_read,
)
from billing_lib.importers.source_checks import detect_format
from billing_lib.money import is_iso_4217
from billing_lib.parameter_paths import PARAMETERS_MARKS, check_parameters_folder
from billing_lib.periods import PERIOD_PATTERN, month_days
from billing_lib.publishing import check_not_finalised, check_register_not_finalised
from billing_lib.run_files import sha256_of

#: Where papermill's parameters come from, for error messages.
NOTEBOOK_PARAMETERS = "billing_run parameters"

#: The names of ``billing_run.ipynb``'s parameters cell, in its order (papermill injects any other
#: name it is given with a warning only: ``injected.check_injected`` refuses it).
RUN_PARAMETER_NAMES = (
    "period",
    "reports",
    "parameters",
    "output",
    "finalise",
    "issue_date",
    "staging",
    "confirm_jumps",
    "currency",
)


def project_dir(start: Path | None = None) -> Path:
    """The folder relative parameters are resolved against: the nearest folder from ``start`` (the
    current directory) upwards that holds a ``parameters/`` folder or a ``pyproject.toml``; else
    ``start``. So the same defaults work from the repository root (papermill, ``billing run``) and
    from ``notebooks/`` (JupyterLab and nbval run a notebook in its own folder)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "parameters").is_dir() or (folder / "pyproject.toml").is_file():
            return folder
    return here


def in_project(start: Path | None = None) -> bool:
    """Whether ``start`` (the current directory) is in a project folder (``project_dir`` found
    one), not a folder relative parameters fall back to."""
    here = (start or Path.cwd()).resolve()
    return any(
        (f / "parameters").is_dir() or (f / "pyproject.toml").is_file()
        for f in (here, *here.parents)
    )


def check_output_made_here(given: object, output: Path) -> None:
    """ParameterError naming ``output`` when the notebook's ``given`` outputs folder is relative,
    does not exist, and the working directory is in no project folder (papermill started from a
    scheduler's): the run would make a new outputs folder there with an empty invoice register
    and number the month from 1 again, numbers the real register issued already (as
    ``cli_runs.default_output`` refuses for ``billing run``). A folder named absolute, or one in
    the project, is made when missing; one that exists is used."""
    if not isinstance(given, str) or Path(given.strip()).is_absolute():
        return
    if output.exists() or in_project():
        return
    raise ParameterError(
        NOTEBOOK_PARAMETERS,
        "output",
        f"{given!r} is relative, and the working directory {Path.cwd()} is no project folder "
        f"(none upwards holds parameters/) and has no {given.strip()} folder: a new outputs "
        "folder with a new, empty invoice register would be made there, numbering the month from "
        "1 again; give the outputs folder of the runs as an absolute path (or start papermill "
        "with --cwd at the project folder)",
    )


def path_parameter(name: str, value: object, source: str = NOTEBOOK_PARAMETERS) -> Path:
    if isinstance(value, Path):
        path = value
    elif isinstance(value, str) and value.strip():
        # "~/reports" in a parameters cell: no shell expanded it (a folder "~" otherwise)
        path = Path(value.strip()).expanduser()
    else:
        raise ParameterError(
            source,
            name,
            f"expected a folder path as text; got {value!r} ({type(value).__name__})",
        )
    if path.is_absolute():
        return path
    base = project_dir()
    _check_meant_from_here(name, value, source, base, path)
    return base / path


def _check_meant_from_here(name: str, given: object, source: str, base: Path, path: Path) -> None:
    """ParameterError naming ``name`` when the relative ``path`` does not exist from the project
    folder ``base`` but does from the working directory (JupyterLab's kernel runs in
    notebooks/: ``output = "../outputs"``). Taken from the project folder, an outputs folder was
    made beside it with an empty invoice register (the month numbered from 1 again), and a
    reports folder read "no such reports folder"."""
    here = Path.cwd()
    meant = (here / path).resolve()
    taken = (base / path).resolve()
    if taken.exists() or not meant.exists() or meant == taken:
        return
    from_base = os.path.relpath(meant, base.resolve())
    raise ParameterError(
        source,
        name,
        f"{given!r}: relative folders are taken from the project folder {base}, where it is "
        f"{taken}, which does not exist; the folder {meant} is {from_base!r} from there (the "
        f"working directory {here} is not where they are taken from): give that, or an "
        "absolute path",
    )


def check_currency(
    currency: object, source: str = NOTEBOOK_PARAMETERS, name: str = "currency"
) -> str | None:
    """The ``currency`` parameter (``name``: the option, ``billing import --currency``) as an ISO
    4217 code in capitals, or None when empty; a ParameterError for anything else (three letters
    that are no code too: the run stopped at the ledger, asking for its exchange rate). It is the
    billing currency of FOCUS reports that carry no BillingCurrency column
    (importers.import_reports' ``default_currency``); a report's own currency is never
    overridden."""
    if currency is None or (isinstance(currency, str) and not currency.strip()):
        return None
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ParameterError(
            source,
            name,
            "expected a three-letter ISO 4217 code like EUR (the billing currency of FOCUS "
            f"reports without a BillingCurrency column), or empty; got {currency!r}",
        )
    if not is_iso_4217(code):
        raise ParameterError(
            source,
            name,
            f"{currency!r} is no ISO 4217 currency code (a typo?); expected a code like EUR or "
            "USD (the billing currency of FOCUS reports without a BillingCurrency column), or "
            "empty",
        )
    return code


def check_period(period: object, source: str = NOTEBOOK_PARAMETERS, name: str = "period") -> str:
    """``period`` as ``YYYY-MM`` text, or a ParameterError naming where it was given (``source``:
    the notebook's parameters or the command, ``name``: its parameter or option) and saying how
    to pass it."""
    if not isinstance(period, str):
        how = f"papermill -r {name} 2026-10 (not -p)" + (
            ", billing run --period 2026-10" if source == NOTEBOOK_PARAMETERS else ""
        )
        raise ParameterError(
            source,
            name,
            f"expected text like '2026-10'; got {period!r} ({type(period).__name__}). "
            f"Pass it as a string: {how}",
        )
    if not PERIOD_PATTERN.match(period.strip()):
        raise ParameterError(
            source,
            name,
            f"expected a month as YYYY-MM from 1900-01 to 2999-12 (e.g. '2026-10'); got {period!r}",
        )
    return period.strip()


@dataclass(frozen=True)
class RunParameters:
    """The checked parameters of one run; every path absolute."""

    period: str
    reports: Path
    parameters: Path
    output: Path
    finalise: bool
    issue_date: date
    reports_found: tuple[tuple[str, str], ...]  # (file name, format title) per vendor report
    #: billing currency of FOCUS reports without a BillingCurrency column (None: every report
    #: states its own; ``billing run --currency``)
    currency: str | None = None
    #: (file name, sha256 of its content once decompressed) per vendor report (a zip's members
    #: each): recorded in the manifest, for ``billed_reports`` of the later months
    report_contents: tuple[tuple[str, str], ...] = ()
    #: (file name, sha256 of its text) per CSV report whose text is not its content as it is
    #: (UTF-16, a BOM, CRLF line ends: importers.text_digest), the same way
    report_texts: tuple[tuple[str, str], ...] = ()
    #: (file name, sha256, bytes) per file of the reports folder read (a zip whole): the
    #: manifest's ``inputs``, as checked here (``check_not_billed_before``) and imported
    report_digests: tuple[tuple[str, str, int], ...] = ()
    #: (name, sha256 of its bytes) per vendor report read (a zip's members each): the import
    #: must read these bytes (``changed_since_checked``)
    source_checksums: tuple[tuple[str, str], ...] = ()
    #: (name, sha256 of its bytes) per AWS delivery manifest of the reports folder (a file, or a
    #: zip's member ``x.zip!member``), named as the reports are: not billed, but what the import
    #: checks the deliveries by, so it must read these bytes and the manifest records them
    delivery_manifests: tuple[tuple[str, str], ...] = ()

    @property
    def run_folder(self) -> Path:
        return self.output / self.period


def check_issue_date(issue_date: object, period: str) -> date:
    """The invoices' issue date from the notebook's ``issue_date`` (text YYYY-MM-DD, a date, or
    empty for the day after ``period``); ParameterError for another value or a date before the
    period's last day (a typo of the month or year: invoices dated before what they bill)."""
    last = month_days(period)[1]
    if isinstance(issue_date, datetime):  # papermill -y 'issue_date: 2026-11-01T10:00:00'
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            "issue_date",
            f"expected a date without a time (YYYY-MM-DD); got {issue_date.isoformat()}",
        )
    if isinstance(issue_date, date):
        issued = issue_date
    elif isinstance(issue_date, str) and issue_date.strip():
        try:
            issued = date.fromisoformat(issue_date.strip())
        except ValueError as exc:
            raise ParameterError(
                NOTEBOOK_PARAMETERS,
                "issue_date",
                f"expected YYYY-MM-DD or empty; got {issue_date!r}",
            ) from exc
    elif isinstance(issue_date, str):
        return _default_issue_date(period, last + timedelta(days=1))
    else:
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            "issue_date",
            f"expected text YYYY-MM-DD or empty; got {issue_date!r} ({type(issue_date).__name__})",
        )
    if issued < last:
        following = (last + timedelta(days=1)).isoformat()
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            "issue_date",
            f"{issued.isoformat()} is before the end of {period} ({last.isoformat()}): the "
            f"invoices would be dated before the usage they bill; give a date from "
            f"{last.isoformat()} on, or leave it empty for {following}",
        )
    problem = issued_too_far_ahead(issued)
    if problem:
        raise ParameterError(NOTEBOOK_PARAMETERS, "issue_date", problem)
    return issued


def _default_issue_date(period: str, issued: date) -> date:
    """``issued``, the day after ``period``, as the invoices' date; ParameterError naming the
    period when that is too far ahead (``issued_too_far_ahead``): a month that has not begun (a
    year typed one too high) failed in the notebook on an issue date nobody gave."""
    today = date.today()
    if issued_too_far_ahead(issued, today):
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            "period",
            f"{period} has not begun (today is {today.isoformat()}): its invoices would be "
            f"dated {issued.isoformat()}, {(issued - today).days} days ahead; a typo of the year "
            "or month? Give the month to bill (YYYY-MM)",
        )
    return issued


#: How far after today an issue date may be: a run made before its month ends, dated the first
#: of the next, is ahead by up to a month; a year typed wrong is ahead by most of a year.
ISSUE_DAYS_AHEAD = 62


def issued_too_far_ahead(issued: date, today: date | None = None) -> str | None:
    """Why ``issued`` cannot be an issue date given today: more than ``ISSUE_DAYS_AHEAD`` days
    after ``today`` (a typo of the year or month would date the invoices, their due dates and
    their journal entries in another month or fiscal year); None when it can."""
    today = today or date.today()
    ahead = (issued - today).days
    if ahead <= ISSUE_DAYS_AHEAD:
        return None
    return (
        f"{issued.isoformat()} is {ahead} days after today ({today.isoformat()}): invoices, due "
        "dates and journal entries would be dated in the future, most likely a typo of the year "
        f"or month; give the date they are issued (at most {ISSUE_DAYS_AHEAD} days ahead)"
    )


def _subfolders_with_reports(folder: Path) -> str:
    """A hint naming the subfolders of ``folder`` that hold vendor report files (the month's
    folder given for its ``reports/``); empty when there are none. Reports are not read from
    subfolders: a run bills exactly the files of the folder it is given."""
    held = sorted(reports_in_subfolders(folder))
    if not held:
        return ""
    names = ", ".join(f"{folder / n}" for n in held)
    return (
        f"; its subfolder(s) {names} hold reports: give that folder (reports are not read from "
        "subfolders)"
    )


def check_parameters(
    period: object,
    reports: object,
    parameters: object,
    output: object,
    finalise: object = False,
    issue_date: object = "",
    currency: object = "",
) -> RunParameters:
    """Check the notebook's parameters before anything is read or written: types, the period's form,
    that the reports folder holds only known vendor reports (and nothing that looks like one the
    import cannot open: ``cur.csv.bz2``, a zip's ``.7z`` member), that the parameters folder
    exists, and that the period's run in ``output`` is not finalised. Raises ParameterError /
    InputError / RunError naming the parameter."""
    period = check_period(period)
    default_currency = check_currency(currency)
    if not isinstance(finalise, bool):
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            "finalise",
            f"expected True or False; got {finalise!r} ({type(finalise).__name__}). "
            "papermill: -p finalise True",
        )
    issued = check_issue_date(issue_date, period)
    reports_dir = path_parameter("reports", reports)
    params_dir = path_parameter("parameters", parameters)
    output_dir = path_parameter("output", output)
    check_output_made_here(output, output_dir)
    check_folders_apart(reports_dir, params_dir, output_dir)
    check_parameters_folder(params_dir, NOTEBOOK_PARAMETERS, "parameters")
    files = report_files(reports_dir)
    if not files:
        raise InputError(
            f"{reports_dir}: no vendor report in this folder "
            "(expected .csv, .csv.gz, .zip or .parquet files)"
            + _subfolders_with_reports(reports_dir)
        )
    # a report the import cannot open (cur.csv.bz2, a .7z, in a zip or not) is refused, as by
    # `billing import`: listed among the warnings only, its charges were on no invoice
    refuse_reports_not_read(
        [(f"{reports_dir / n}", why) for n, why in reports_not_read(reports_dir)]
    )
    refuse_reports_in_subfolders(reports_dir)
    found: list[tuple[str, str]] = []
    # a zip whole, then per member; a CSV.gz also by its content, a re-encoded CSV by its text
    digests: list[Digest] = []
    contents: list[tuple[str, str]] = []
    texts: list[tuple[str, str]] = []
    whole: list[tuple[str, str, int]] = []
    sources_read: list[tuple[str, str]] = []
    for path in files:
        size, zipped = path.stat().st_size, path.name.lower().endswith(".zip")
        if zipped:
            digests.append(Digest(path.name, sha256_of(path)))
            whole.append((str(path.relative_to(reports_dir)), digests[-1].sha256, size))
        with open_sources(path) as sources:
            for src in sources:
                shown = src.name.removeprefix(f"{reports_dir}{os.sep}")
                found.append((shown, detect_format(src).title))
                digests.append(Digest(shown, src.checksum))
                sources_read.append((src.name, src.checksum))
                if not zipped:  # the file itself (its bytes' sha256), not a zip's member
                    whole.append((str(path.relative_to(reports_dir)), src.checksum, size))
                if src.content != src.checksum:
                    digests.append(Digest(shown, src.content, CONTENT))
                contents.append((shown, src.content))
                if src.text and src.text != src.content:
                    digests.append(Digest(shown, src.text, TEXT))
                    texts.append((shown, src.text))
    # the deliveries' manifests as checked here: the import must read the same (a manifest that
    # cannot be read is refused here already)
    delivery = [
        (m.name.removeprefix(f"{reports_dir}{os.sep}"), m.sha256)
        for path in [*files, *manifest_files(reports_dir)]
        for m in manifests_of(path)
    ]
    check_not_finalised(output_dir, period)
    check_register_not_finalised(output_dir, period)
    check_not_billed_before(output_dir, period, reports_dir, digests)
    return RunParameters(
        period,
        reports_dir,
        params_dir,
        output_dir,
        finalise,
        issued,
        tuple(found),
        default_currency,
        tuple(contents),
        tuple(texts),
        tuple(sorted(whole)),
        tuple(sources_read),
        tuple(sorted(delivery)),
    )


def changed_since_checked(
    params: RunParameters,
    imported: list[tuple[str, str]],
    manifests: list[tuple[str, str]] | None = None,
) -> str | None:
    """Why the reports ``imported`` ((name, sha256) each, as the import read them) are not those
    ``check_parameters`` checked, or None: a report saved again, added, replaced or removed (a
    zip's member too) after the run's parameters were checked (the notebook's parameters cell)
    was checked against the months billed before in its earlier bytes, and the manifest would
    list those (a report removed: as billed, though no invoice bills its lines). ``manifests``
    (given: (name, sha256) of each delivery manifest the import read) likewise: the manifest
    would record a delivery check the import did not make."""
    checked = dict(params.source_checksums)
    for name, sha256 in imported:
        if name not in checked:
            return f"{name}: not in the reports folder when the run's parameters were checked"
        if checked[name] != sha256:
            return f"{name}: changed since the run's parameters were checked (its sha256 differs)"
    # removed meanwhile: the manifest would list it as billed (``report_digests``,
    # ``report_contents``), so the next month would refuse it as billed already and a reissue
    # would compare against it
    imported_names = {name for name, _ in imported}
    for name in checked:
        if name not in imported_names:
            return f"{name}: removed since the run started (its parameters were checked with it)"
    return None if manifests is None else _manifests_changed(params, manifests)


def _manifests_changed(params: RunParameters, manifests: list[tuple[str, str]]) -> str | None:
    """Why the delivery manifests the import read ((name, sha256) each) are not those
    ``check_parameters`` checked (``RunParameters.delivery_manifests``), or None."""
    folder = f"{params.reports}{os.sep}"
    read = {name.removeprefix(folder): (name, sha256) for name, sha256 in manifests}
    for shown, sha256 in params.delivery_manifests:
        if shown not in read:
            return (
                f"{folder}{shown}: a delivery manifest removed since the run's parameters were "
                "checked"
            )
        if read[shown][1] != sha256:
            return (
                f"{read[shown][0]}: changed since the run's parameters were checked (its sha256 "
                "differs; a delivery manifest)"
            )
    for shown, (name, _) in read.items():
        if shown not in dict(params.delivery_manifests):
            return (
                f"{name}: a delivery manifest not in the reports folder when the run's "
                "parameters were checked"
            )
    return None


def check_folders_apart(reports: Path, parameters: Path, output: Path) -> None:
    """ParameterError unless the three folders are apart: an outputs folder in (or equal to) the
    reports or parameters folder mixes the run's invoices and register with the vendor's reports
    (read as reports, or listed as not read, next month) or with the parameters; reports or
    parameters in a run folder of the outputs folder (``outputs/2026-10/``) are deleted when a
    run of that month is published; a reports folder that holds parameters files is the
    parameters folder given for it."""
    resolved = {k: p.resolve() for k, p in (("reports", reports), ("parameters", parameters))}
    out = output.resolve()
    for name, folder in resolved.items():
        if out == folder or out.is_relative_to(folder):
            raise ParameterError(
                NOTEBOOK_PARAMETERS,
                "output",
                f"{output}: in the {name} folder {folder}: the run's invoices and register would "
                f"be mixed with the {name}; give an outputs folder of its own (outputs/)",
            )
    for name, folder in resolved.items():
        run_folder = _run_folder_holding(folder, out)
        if run_folder is not None:
            given = reports if name == "reports" else parameters
            raise ParameterError(
                NOTEBOOK_PARAMETERS,
                name,
                f"{given}: in the run folder {run_folder} of the outputs folder, which a run of "
                f"that month replaces whole (the {name} would be deleted with it); keep the "
                f"{name} in a folder of their own, not in a YYYY-MM folder of {out}",
            )
    marks = [m for m in PARAMETERS_MARKS if (reports / m).is_file()]
    if marks:
        swapped = (
            " (the reports and parameters folders given the other way round?)"
            if resolved["reports"] != resolved["parameters"]
            else ""
        )
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            "reports",
            f"{reports}: holds {', '.join(marks)}, a parameters folder's files, not vendor "
            f"reports{swapped}",
        )


def _run_folder_holding(folder: Path, output: Path) -> Path | None:
    """The run folder ``output/<YYYY-MM>`` that ``folder`` is or is in (both resolved), or None:
    publishing a run of that month swaps a new folder in and deletes the old one whole."""
    if not folder.is_relative_to(output) or folder == output:
        return None
    first = folder.relative_to(output).parts[0]
    return output / first if PERIOD_PATTERN.match(first) else None


def customer_list(name: str, value: object) -> tuple[str, ...]:
    """Comma-separated customer ids (``C001, C002``), empty for none."""
    if not isinstance(value, str):
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            name,
            f"expected customer ids as text, e.g. 'C001,C002'; got {value!r}",
        )
    return tuple(v.strip() for v in value.split(",") if v.strip())


def check_staging(staging: object, output: Path) -> Path | None:
    """The staging folder ``billing run`` gives (an existing folder inside ``output``), or None
    when empty (the run stages and publishes itself)."""
    if not isinstance(staging, (str, Path)):
        raise ParameterError(
            NOTEBOOK_PARAMETERS, "staging", f"expected a folder path or empty; got {staging!r}"
        )
    if not str(staging).strip():
        return None
    given = Path(staging)
    if not given.is_dir() or given.parent.resolve() != output.resolve():
        raise ParameterError(
            NOTEBOOK_PARAMETERS,
            "staging",
            f"{given}: expected an existing folder inside {output}",
        )
    return given
