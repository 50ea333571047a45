"""``billing finalise``: finalise the published run of a month as it is, without billing it again.

The monthly close publishes a run, reviews it (its review of exceptions, its invoices), then
finalises. ``billing run --finalise`` bills the month again to do so: minutes for a large month,
and whatever changed meanwhile (a report dropped into the folder, a price edited) is finalised
without having been reviewed. ``finalise_published`` finalises the very folder that was reviewed:

1. it holds the outputs folder's lock and cleans up after killed runs (``recovery.open_output``,
   which also refuses a register that does not know the run folders);
2. the period's run folder must be published and not finalised, and every output its manifest
   lists must be there with the sha256 recorded when it was published;
3. the register records that the finalising began (``begin_publishing``, plan kind
   ``finalise``), the folder gets its ``FINALISED`` marker, and the register makes the period's
   numbers final (``commit_publishing``). Killed in between, the next command finishes it when
   the marker is there and forgets it when not (``recovery``); a register that cannot be written
   after the marker is says the folder is final and the register not yet (``not_recorded``),
   and ``billing finalise`` asked again finishes it. Ctrl-C is held off these steps
   (``interrupts.held_off``): it ends the command once the month is final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from billing_lib.command_lines import arg
from billing_lib.errors import RunError
from billing_lib.faults import pause_point
from billing_lib.interrupts import held_off
from billing_lib.numbering import Register, UnwritableRegister
from billing_lib.publishing import check_not_finalised, writing
from billing_lib.run_files import (
    FINALISED_MARKER,
    MANIFEST,
    REGISTER,
    atomic_target,
    outputs_problems,
    read_manifest,
)
from billing_lib.run_parameters import check_period

NOT_FINALISED = "Nothing was finalised; the run folder is as it was."


@dataclass(frozen=True)
class Finalised:
    """What ``finalise_published`` did: the folder, its invoice numbers now final, and what was
    cleaned up from killed runs first."""

    folder: Path
    numbers: tuple[str, ...]
    cleaned: tuple[str, ...] = ()
    #: the id of the run finalised (its manifest's ``run_id``)
    run_id: str | None = None


def finalise_published(
    output: Path, period: str, wait: float = 0, run_id: str | None = None
) -> Finalised:
    """Finalise ``output/period`` as published (module docstring). RunError, with nothing
    changed, when there is no published run of ``period``, it is not the run ``run_id`` (the run
    reviewed, as ``billing run`` printed it: billed again since), it is finalised already, or a
    file of it is missing or changed since it was published."""
    from billing_lib.recovery import finished_finalising, open_output

    period = check_period(period, "billing finalise", "--period")
    output = Path(output)
    reviewed = (run_id or "").strip() or None
    # the run reviewed, else the one published when finalising was asked for
    asked = reviewed or _run_id(output / period)
    lock, cleaned = open_output(output, "billing finalise", wait=wait, create=False)
    try:
        folder = output / period
        manifest = _published_manifest(folder, output, period)
        if any(line.startswith(finished_finalising(period)) for line in cleaned):
            # a finalise whose register write failed, recorded now: what was asked is done
            numbers = tuple(sorted((manifest.get("numbering") or {}).get("numbers", {}).values()))
            return Finalised(folder, numbers, tuple(cleaned), str(manifest.get("run_id")))
        check_not_finalised(output, period)
        _check_same_run(folder, asked, manifest, output, reviewed is not None)
        problems = outputs_problems(folder, manifest)
        if problems:
            raise RunError(
                f"{folder}: the run is not as it was published, so it is not what was reviewed; "
                "nothing was finalised. Bill the month again (billing run ... --finalise), or "
                "restore the folder:\n  - " + "\n  - ".join(problems)
            )
        numbers = tuple(sorted((manifest.get("numbering") or {}).get("numbers", {}).values()))
        register = Register(output / REGISTER)
        lock.check()  # still the folder it locked
        with held_off(f"{folder} was finalised, its invoice numbers final"):
            register.begin_publishing(lock.run_id, period, {"kind": "finalise", "period": period})
            try:
                pause_point("finalise-begun")
                # a read-only folder or a full disk: named, with the way out (it was a traceback)
                marker = folder / FINALISED_MARKER
                with writing(marker, NOT_FINALISED), atomic_target(marker) as tmp:
                    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
                    tmp.write_text(f"finalised {stamp}\n", encoding="utf-8")
                    pause_point("finalise-marker-staged")
                pause_point("finalise-marker-written")
            except BaseException:
                if not (folder / FINALISED_MARKER).exists():
                    register.abandon_publishing(lock.run_id)
                raise
            try:
                register.commit_publishing(lock.run_id)
            except RunError as exc:
                raise not_recorded(folder, output, period, exc) from None
    finally:
        lock.release()
    return Finalised(folder, numbers, tuple(cleaned), str(manifest.get("run_id")))


def not_recorded(folder: Path, output: Path, period: str, exc: RunError) -> RunError:
    """The error of a register that cannot record the finalising once the folder got its
    FINALISED marker: the folder is final (what every command judges by: no run replaces it), the
    register's numbers not yet; the next command on ``output`` records them (``recovery``), the
    repeated ``billing finalise`` too (``finalise_published``). Not "nothing was changed"."""
    problem = exc.problem if isinstance(exc, UnwritableRegister) else str(exc).rstrip(".")
    return RunError(
        f"{folder}: finalised (its {FINALISED_MARKER} marker is written: the run folder is final "
        f"and is never billed again), but the invoice register could not record it: {problem}; "
        f"then run billing finalise --period {period} --output {arg(output)} again: it records the "
        "month's invoice numbers as final (as does any billing command on that outputs folder). "
        "Do not bill the month again; corrections are credit notes."
    )


def _run_id(folder: Path) -> str | None:
    """The run id of the run published in ``folder`` (None when there is none, or it cannot be
    read: then the folder is judged once the lock is held)."""
    try:
        return str(read_manifest(folder).get("run_id"))
    except RunError:
        return None


def _check_same_run(
    folder: Path, asked: str | None, manifest: dict, output: Path, given: bool = False
) -> None:
    """RunError when the run published now is not ``asked``: the run reviewed (``given``,
    ``--run``), billed again since, or the one published when ``billing finalise`` was given,
    billed again while it waited for the lock (``--wait``); either way not what was
    reviewed."""
    now = str(manifest.get("run_id"))
    if given and asked != now:
        raise RunError(
            f"{folder}: billed again since run {asked} was published (the run given with --run, "
            f"the one reviewed); the run published now is run {now} (published "
            f"{manifest.get('created')}), which is not what was reviewed; nothing was finalised. "
            f"Review the run now published (its billing_run.html, or billing run's output), then "
            f"finalise it: billing finalise --period {folder.name} --output {arg(output)} "
            f"--run {now}"
        )
    if asked != now:
        raise RunError(
            f"{folder}: billed again while billing finalise waited for the outputs folder (run "
            f"{asked or 'none'} published when it was asked, run {now} now): it is not the run "
            "that was reviewed; nothing was finalised. Review the run now published, then "
            "finalise it"
        )


def _published_manifest(folder: Path, output: Path, period: str) -> dict:
    """The manifest of the published run ``folder``; RunError saying how to publish one."""
    if not (folder / MANIFEST).is_file():
        raise RunError(
            f"{folder}: no published run of {period} in {output}; bill it first (billing run "
            f"--period {period} ...), review it, then finalise it"
        )
    manifest = read_manifest(folder)
    if manifest.get("period") != period:
        raise RunError(f"{folder / MANIFEST}: not the manifest of a run of {period}")
    return manifest
