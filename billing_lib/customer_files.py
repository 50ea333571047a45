"""A ``sync_proposal.Proposal`` as edits of ``accounts.csv`` and ``customers.yaml``, made in place
(comments and order kept: rows appended or given a ``valid_to``, customers.yaml round-tripped by
ruamel.yaml), shown as a diff, checked to load, and applied to both files together or neither."""

from __future__ import annotations

import csv
import difflib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from billing_lib.customers import (
    STUB_ADDRESS,
    load_account_mappings,
    load_customers,
)
from billing_lib.errors import RunError, write_fault
from billing_lib.faults import pause_point
from billing_lib.interrupts import held_off
from billing_lib.parameter_csv import is_comment
from billing_lib.sync_proposal import ACCOUNTS, CUSTOMERS, Proposal, csv_line


def accounts_text(original: str, proposal: Proposal) -> str:
    """accounts.csv with the closings' ``valid_to`` set on their rows and the new rows appended;
    every other line byte for byte as it was. Rows are counted as ``parameter_csv.csv_rows``
    counts them (header = 1, a blank line a row) and a quoted note may span several lines, so the
    records are read by the csv module, not line by line: a note written over two lines closed
    the mapping on the row above the one the summary named."""
    closing = {c.row: c for c in proposal.closings}
    fixing = {f.row: f for f in proposal.fixes}
    out: list[str] = []
    header: list[str] | None = None
    row = 0
    for record, chunk in _records(original.splitlines(keepends=True)):
        row += 1
        if not record or is_comment(record):  # a blank or comment line: a row without a mapping
            out += chunk
            continue
        if header is None:
            header = [h.lstrip("\ufeff") for h in record]
            out += chunk
            continue
        c, f = closing.get(row), fixing.get(row)
        if c is None and f is None:
            out += chunk
            continue
        values = dict(zip(header, record, strict=False))
        if c is not None:
            values["valid_to"] = c.valid_to.isoformat()
        if f is not None:
            values["account_id"] = f.account_id
        ending = chunk[-1][len(chunk[-1].rstrip("\r\n")) :] or "\n"
        out.append(csv_line([values.get(h, "") or "" for h in header]) + ending)
    text = "".join(out)
    if proposal.rows:
        ending = "\r\n" if text.endswith("\r\n") else "\n"
        if text and not text.endswith("\n"):
            text += ending
        text += "".join(r.csv_line() + ending for r in proposal.rows)
    return text


def _records(lines: list[str]) -> Iterator[tuple[list[str], list[str]]]:
    """Each CSV record with the physical lines it was read from (a quoted value may hold line
    breaks); the csv reader takes lines one at a time, so the lines taken belong to the record."""
    taken: list[str] = []

    def feed() -> Iterator[str]:
        for line in lines:
            taken.append(line)
            yield line

    for record in csv.reader(feed()):
        yield record, taken[:]
        taken.clear()


def _yaml() -> YAML:
    """A YAML reader and writer that round-trips comments, flow style and order."""
    y = YAML()
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096
    return y


def customers_text(original: str, proposal: Proposal, country: str, currency: str) -> str:
    """customers.yaml with the stubs appended to ``customers`` (the rest unchanged, comments kept).
    A stub has no ``group``: no price plan applies until the analyst completes it."""
    if not proposal.stubs:
        return original
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    y = _yaml()
    data = y.load(original)
    seq = data["customers"]
    for stub in proposal.stubs:
        entry = CommentedMap()
        entry["id"] = stub.id
        entry["name"] = stub.name
        address = CommentedSeq([STUB_ADDRESS])
        address.fa.set_flow_style()
        entry["address"] = address
        entry["country"] = country
        entry["invoice_currency"] = currency
        seq.append(entry)
        seq.yaml_set_comment_before_after_key(
            len(seq) - 1,
            before=f"proposed by billing customers sync {proposal.period} from {stub.source}: "
            "complete address, country, VAT number, invoice currency and group",
            indent=2,
        )
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Changes:
    """The proposal as new file contents and the unified diff an analyst reviews."""

    accounts: str
    customers: str
    diff: str


def changes(parameters: Path, proposal: Proposal) -> Changes:
    parameters = Path(parameters)
    customers = load_customers(parameters)
    acc_path, cus_path = parameters / ACCOUNTS, parameters / CUSTOMERS
    acc_old = acc_path.read_text(encoding="utf-8")
    cus_old = cus_path.read_text(encoding="utf-8")
    currencies = [c.invoice_currency for c in customers.values()]
    countries = [c.country for c in customers.values()]
    currency = max(sorted(set(currencies)), key=currencies.count) if currencies else "EUR"
    country = max(sorted(set(countries)), key=countries.count) if countries else "NL"
    acc_new = accounts_text(acc_old, proposal)
    cus_new = customers_text(cus_old, proposal, country, currency)
    diff = "".join(
        list(
            difflib.unified_diff(
                cus_old.splitlines(True),
                cus_new.splitlines(True),
                f"a/{CUSTOMERS}",
                f"b/{CUSTOMERS}",
            )
        )
        + list(
            difflib.unified_diff(
                acc_old.splitlines(True), acc_new.splitlines(True), f"a/{ACCOUNTS}", f"b/{ACCOUNTS}"
            )
        )
    )
    return Changes(acc_new, cus_new, diff)


def check_loadable(parameters: Path, proposed: Changes) -> None:
    """Load the proposed files as a run would (in a temp copy): a proposal that would break the
    parameters is never written."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copyfile(Path(parameters) / CUSTOMERS, copy / CUSTOMERS)
        (copy / CUSTOMERS).write_text(proposed.customers, encoding="utf-8")
        (copy / ACCOUNTS).write_text(proposed.accounts, encoding="utf-8")
        load_account_mappings(copy, load_customers(copy))


def apply(parameters: Path, proposed: Changes, reviewed: Path) -> None:
    """Write the proposal when it is the one reviewed in ``reviewed`` (the diff file written by the
    run without ``--apply``); each file replaced atomically."""
    reviewed = Path(reviewed)
    if not reviewed.is_file():
        raise RunError(
            f"{reviewed}: no reviewed proposal; run `billing customers sync` without --apply, "
            "review the diff, then apply"
        )
    if reviewed.read_bytes() != proposed.diff.encode("utf-8"):  # bytes: an edit may be no UTF-8
        raise RunError(
            f"{reviewed}: the proposal changed since it was written (new exports or parameters); "
            "run without --apply and review it again"
        )
    check_loadable(parameters, proposed)
    # Ctrl-C between the two files left customers.yaml applied and accounts.csv not
    with held_off(f"{reviewed} was applied to {parameters}"):
        _replace_both(
            Path(parameters), {CUSTOMERS: proposed.customers, ACCOUNTS: proposed.accounts}
        )


#: Beside the parameters files while ``apply`` moves a proposal in: both proposed files
#: (``.<name>.sync``) were complete when it was made, so a command finding it moves in the ones
#: left (``finish_apply``). Its presence counts, not its text (a note for whoever finds it).
APPLYING = ".customers-sync.applying"


def _proposed(parameters: Path, name: str) -> Path:
    """Where ``apply`` writes the new text of the parameters file ``name`` before moving it in."""
    return parameters / f".{name}.sync"


def _replace_both(parameters: Path, texts: dict[str, str]) -> None:
    """Replace the files of ``parameters`` named in ``texts`` (name -> new text) with their new
    text, both or neither: each is written beside its file first, and a file that cannot be
    replaced puts back the one replaced before it. RunError naming the file when the folder or a
    file cannot be written (read-only, full): half a proposal applied, accounts mapped to a
    customer stub not written, or the stub without its accounts, bills wrong. Killed (``kill
    -9``) once both are written, the ``APPLYING`` marker makes the next command finish it."""
    olds = {n: (parameters / n).read_text(encoding="utf-8") for n in texts}
    changed = {n: t for n, t in texts.items() if olds[n] != t}
    tmps = {n: _proposed(parameters, n) for n in changed}
    marker = parameters / APPLYING
    done: list[str] = []
    name = ""
    try:
        for name, text in changed.items():
            tmps[name].write_text(text, encoding="utf-8")
        pause_point("customers-sync-written")
        name = APPLYING
        marker.write_text(
            f"billing customers sync --apply is moving {' and '.join(changed)} in\n",
            encoding="utf-8",
        )
        for name in changed:
            os.replace(tmps[name], parameters / name)
            done.append(name)
            pause_point("customers-sync-half-applied")
        marker.unlink()
    except OSError as exc:
        for back in done:  # the folder took the new file: it takes the old one back
            tmps[back].write_text(olds[back], encoding="utf-8")
            os.replace(tmps[back], parameters / back)
        marker.unlink(missing_ok=True)
        fault = write_fault(exc)
        if fault is None:
            raise
        raise RunError(
            f"{parameters / name}: {fault[0]} ({exc.strerror or exc}). Nothing was applied; "
            f"{CUSTOMERS} and {ACCOUNTS} are as they were. Way out: make the parameters folder "
            "and its files writable for this user (or free space), then apply again"
        ) from None
    finally:
        for tmp in tmps.values():
            if tmp.exists():
                tmp.unlink()


def finish_apply(parameters: Path) -> list[str]:
    """Finish what a killed ``billing customers sync --apply`` left in the parameters folder
    ``parameters``; what was done, one line each. With its ``APPLYING`` marker the proposal's
    files were complete, and maybe one was moved in already: the others are moved in, or a run
    would bill half a proposal (accounts mapped to a customer not written, or a customer without
    its accounts) in silence. RunError naming the file when one cannot be moved in. Without the
    marker nothing was applied: the proposal's files left are no parameters file and are never
    read (``stale_proposals``)."""
    parameters = Path(parameters)
    marker = parameters / APPLYING
    if not marker.is_file():
        return []
    moved = []
    for name in (CUSTOMERS, ACCOUNTS):
        try:  # missing: moved in by the killed command, or by a command finishing it meanwhile
            os.replace(_proposed(parameters, name), parameters / name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise RunError(
                f"{parameters / name}: cannot be replaced by {_proposed(parameters, name).name} "
                f"({exc.strerror}): billing customers sync --apply was killed while applying "
                f"its proposal ({marker.name}), and {CUSTOMERS} and {ACCOUNTS} may not agree. "
                "Way out: make the parameters folder and its files writable for this user, then "
                "run again (the proposal is finished first); nothing was read"
            ) from None
        moved.append(name)
    marker.unlink(missing_ok=True)
    what = " and ".join(moved) if moved else "nothing left to move in"
    return [
        f"finished the billing customers sync --apply killed while applying its proposal to "
        f"{parameters}: {what}"
    ]


def stale_proposals(parameters: Path) -> list[str]:
    """The proposal's files a ``billing customers sync --apply`` killed before it applied
    anything left in ``parameters`` (no ``APPLYING`` marker), removed by the next sync; what was
    removed (or why not), one line each. Never read by a run (hidden files)."""
    parameters = Path(parameters)
    if (parameters / APPLYING).exists():
        return []
    done = []
    for name in (CUSTOMERS, ACCOUNTS):
        left = _proposed(parameters, name)
        if not left.is_file():
            continue
        what = "the unfinished proposal of a billing customers sync --apply that was killed"
        try:
            left.unlink()
        except OSError as exc:
            done.append(f"{left} cannot be removed ({exc.strerror}): {what}; remove it by hand")
            continue
        done.append(f"removed {left.name} from {parameters}: {what}; nothing was applied")
    return done
