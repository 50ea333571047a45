"""A run's own files read back as the analyst's checks see them: the totals of
``invoice_summary.csv`` and the balance of the CSV journal, as exact decimals. Reading the files
written (not the objects they were written from) checks what the accounting software will import.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from billing_lib.errors import RunError
from billing_lib.money import minor_unit
from billing_lib.store import scratch_or

#: The name ``journal_balance`` gives the invoices' totals on the connection it reads on.
INVOICE_TOTALS = "_readback_invoice_totals"


def in_minor_units(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame``'s amount ``columns`` in the minor unit of each row's ``currency`` (12.50 EUR,
    79299 JPY, 244.372 KWD): exact, as the files state them. (The files are read with three
    decimals, the most an invoice currency has.)"""
    for column in columns:
        frame[column] = pd.Series(
            [
                None
                if value is None or pd.isna(value)
                else Decimal(value).quantize(minor_unit(cur))
                for value, cur in zip(frame[column], frame["currency"], strict=True)
            ],
            index=frame.index,
            dtype=object,
        )
    return frame


def read_invoice_summary(path: Path, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """``invoice_summary.csv`` (customer_id, invoice_number, currency, net_amount, vat_amount,
    gross_amount, cost_amount, margin_amount) with the amounts as exact decimals in their
    currency's minor unit; read on ``con`` when given (``store.scratch_or``)."""
    with scratch_or(con) as reader:
        return in_minor_units(
            reader.sql(
                """SELECT customer_id, invoice_number, currency,
                      CAST(net_amount AS DECIMAL(18,3)) AS net,
                      CAST(vat_amount AS DECIMAL(18,3)) AS vat,
                      CAST(cost_amount AS DECIMAL(18,3)) AS cost,
                      CAST(margin_amount AS DECIMAL(18,3)) AS margin,
                      CAST(gross_amount AS DECIMAL(18,3)) AS gross
               FROM read_csv(?, all_varchar = true, header = true) ORDER BY invoice_number""",
                params=[str(path)],
            )
            .to_arrow_table()
            .to_pandas(),
            ["net", "vat", "cost", "margin", "gross"],
        )


def journal_balance(
    folder: Path, invoice_totals: pd.DataFrame, con: duckdb.DuckDBPyConnection | None = None
) -> pd.DataFrame:
    """Balance of the CSV journal in ``folder`` (columns debit, credit, currency, account, invoice
    number) read back from the file: debits = credits per currency, and the invoices' gross
    totals (``invoice_totals``: ``read_invoice_summary``) it must carry as receivables; read on
    ``con`` when given (``store.scratch_or``)."""
    journals = sorted(folder.glob("journal_*.csv"))
    if len(journals) != 1:
        raise RunError(
            f"{folder}: expected one CSV journal (journal_*.csv); "
            f"found {[p.name for p in journals]}"
        )
    with scratch_or(con) as reader:
        reader.register(INVOICE_TOTALS, invoice_totals)
        try:
            return _balance(reader, journals[0])
        finally:
            reader.unregister(INVOICE_TOTALS)


def _balance(con: duckdb.DuckDBPyConnection, journal: Path) -> pd.DataFrame:
    """The balance of ``journal`` per currency beside the gross of ``INVOICE_TOTALS``."""
    return in_minor_units(
        con.sql(
            f"""WITH j AS (
                 SELECT currency,
                        CAST(coalesce(nullif(debit, ''), '0') AS DECIMAL(18,3)) AS debit,
                        CAST(coalesce(nullif(credit, ''), '0') AS DECIMAL(18,3)) AS credit
                 FROM read_csv(?, all_varchar = true, header = true))
               SELECT j.currency, sum(debit) AS debit, sum(credit) AS credit,
                      sum(debit) - sum(credit) AS difference,
                      (SELECT sum(gross) FROM {INVOICE_TOTALS} i WHERE i.currency = j.currency)
                        AS invoiced_gross
               FROM j GROUP BY j.currency ORDER BY j.currency""",
            params=[str(journal)],
        )
        .to_arrow_table()
        .to_pandas(),
        ["debit", "credit", "difference", "invoiced_gross"],
    )
