"""A Partner Center invoice reconciliation row whose PricingCurrency cell holds only spaces reads
as a blank cell, as an empty one does: refused without its exchange rate where it has a price to
convert, saying the cell is blank (the message showed an empty currency, "from the pricing
currency  to the billing currency EUR"); a row with nothing to convert needs neither."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from billing_lib.errors import InputError
from billing_lib.importers import import_reports

REPORTS = Path(__file__).resolve().parents[1] / "samples" / "2026-10" / "reports"
INVOICE = REPORTS / "ms-invoice-reconciliation-G052026103.csv"


def _with_row_3(target: Path, **values: str) -> Path:
    """The sample invoice file with row 3 (the second record) given ``values``."""
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    records[1].update(values)
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return target


def test_a_pricing_currency_of_spaces_without_a_rate_is_refused_saying_the_cell_is_blank(
    tmp_path,
):
    bad = _with_row_3(tmp_path / "blank.csv", PricingCurrency="   ", PCToBCExchangeRate="")
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (3, "PCToBCExchangeRate")
    assert "pricing currency  to" not in problem.expected
    assert problem.expected.startswith(
        "the exchange rate from the pricing currency (the row names none: PricingCurrency, which "
        "Partner Center prints on every line, is blank (the cell holds only spaces), so UnitPrice "
        "20.6 may be in another currency than EUR"
    )


def test_a_pricing_currency_of_spaces_on_a_row_with_nothing_to_convert_is_read_as_empty(
    tmp_path,
):
    """UnitPrice 0 converts nothing: an empty PricingCurrency was accepted, one of spaces was
    refused as if it named a currency other than EUR."""
    rows = []
    for blank in ("", "   "):
        ok = _with_row_3(
            tmp_path / f"free{len(blank)}.csv",
            PricingCurrency=blank,
            PCToBCExchangeRate="",
            UnitPrice="0",
        )
        con = duckdb.connect()
        import_reports(con, [ok])
        rows.append(con.execute("SELECT BilledCost FROM lines WHERE x_SourceRow = 3").fetchone())
    assert rows[0] == rows[1]


AZURE = Path(__file__).resolve().parent / "data" / "azure-cost-details"


@pytest.mark.parametrize(
    ("source", "row", "currency", "rate"),
    [
        (
            REPORTS / "ms-daily-rated-usage-G052026103.csv",
            2,
            "PricingCurrency",
            "PCToBCExchangeRate",
        ),
        (
            AZURE / "mpa-actual-cost-2026-10.csv",
            3,
            "pricingCurrency",
            "exchangeRatePricingToBilling",
        ),
        (
            AZURE / "mca-actual-cost-2026-10.csv",
            2,
            "pricingCurrency",
            "exchangeRatePricingToBilling",
        ),
    ],
    ids=["daily-rated-usage", "partner-cost-export", "mca-cost-export"],
)
def test_other_microsoft_files_say_a_pricing_currency_of_spaces_is_blank(
    tmp_path, source, row, currency, rate
):
    """A USD-priced row of a EUR file, its pricing currency cell spaces and its rate empty."""
    named = "PricingCurrency" if "mca" in source.name else currency  # as the format names it
    err = _refused_with_row_changed(tmp_path, source, row, {currency: "   ", rate: ""})
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (row, rate)
    assert problem.expected.startswith(
        f"the exchange rate from the pricing currency (the row's {named} cell is blank, only "
        "spaces, and the row's "
    )


@pytest.mark.parametrize(
    ("source", "row", "currency", "rate", "named", "totals"),
    [
        (
            REPORTS / "ms-daily-rated-usage-G052026103.csv",
            2,
            "PricingCurrency",
            "PCToBCExchangeRate",
            "PricingCurrency",
            "PricingPreTaxTotal 4.692 is not its BillingPreTaxTotal 4.31054",
        ),
        (
            AZURE / "mpa-actual-cost-2026-10.csv",
            3,
            "pricingCurrency",
            "exchangeRatePricingToBilling",
            "pricingCurrency",
            "costInPricingCurrency 0.540434403 is not its costInBillingCurrency 0.4971996508",
        ),
        (
            AZURE / "mca-actual-cost-2026-10.csv",
            2,
            "pricingCurrency",
            "exchangeRatePricingToBilling",
            "PricingCurrency",
            "CostInPricingCurrency 4.608 is not its cost in the billing currency 4.23936",
        ),
    ],
    ids=["daily-rated-usage", "partner-cost-export", "mca-cost-export"],
)
def test_one_row_s_empty_pricing_currency_is_named_as_the_row_s_empty_cell(
    tmp_path, source, row, currency, rate, named, totals
):
    """One USD-priced row of a EUR file with its pricing currency cell and its rate emptied, the
    rest of the file naming its pricing currencies: the message said "the file names none", which
    sent the analyst looking for a column the file has. It names the row's empty cell, the two
    totals that tell it is priced in another currency, and what the row must hold."""
    err = _refused_with_row_changed(tmp_path, source, row, {currency: "", rate: ""})
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (row, rate)
    assert "names none" not in str(err.value)
    assert problem.expected.startswith(
        f"the exchange rate from the pricing currency (the row's {named} cell is empty too, and "
        f"the row's {totals}: it is priced in a currency other than EUR that the row does not "
        f"name; expected {named}, such as USD, and {rate}, its rate to EUR), which "
    ), problem.expected


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"PricingCurrency": ""}, "is empty on this row"),
        ({"PricingCurrency": None}, "is not in the file (its column deleted)"),
    ],
    ids=["cell-empty", "column-deleted"],
)
def test_an_invoice_row_without_pricing_currency_says_whether_the_cell_or_the_column(
    tmp_path, values, said
):
    """The invoice file said "is empty or its column deleted" for either: which of the two is
    what the analyst puts right, one cell of row 3 or the export's columns."""
    with open(INVOICE, newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    for record in records:
        record["PCToBCExchangeRate"] = "" if values["PricingCurrency"] == "" else None
    records[1].update(values)
    bad = tmp_path / INVOICE.name
    columns = [c for c, v in records[1].items() if v is not None]
    with open(bad, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(records)
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    problem = next(p for p in err.value.problems if p.row == 3)
    assert problem.column == "PCToBCExchangeRate"
    assert problem.expected.startswith(
        "the exchange rate from the pricing currency (the row names none: PricingCurrency, which "
        f"Partner Center prints on every line, {said}, so UnitPrice 20.6 may be in another "
        "currency than EUR"
    ), problem.expected


def _refused_with_row_changed(
    tmp_path: Path, source: Path, row: int, cells: dict[str, str]
) -> pytest.ExceptionInfo[InputError]:
    """The InputError of importing ``source`` with its CSV ``row`` (1 = the header) given
    ``cells``."""
    with open(source, newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    records[row - 2].update(cells)
    bad = tmp_path / source.name
    with open(bad, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    with pytest.raises(InputError) as err:
        import_reports(duckdb.connect(), [bad])
    return err
