"""Rating: every customer line of a month priced by its customer's plan, in DuckDB SQL.

``rate_lines`` creates three relations from ``customer_lines``:

- ``rated_lines`` (docs/architecture.md): one row per billed vendor line, plus the custom lines
  (fees, one-offs, credits), minimum-fee top-ups and percent fees; a view over the Parquet file
  the rating writes once in customer order by one sorted COPY (``rated_file``), which the run
  publishes;
- ``excluded_lines``: customer lines not billed (vendor taxes, exclude rules, credits the reseller
  keeps), every column of ``customer_lines`` plus ``reason``, ``plan_id``, ``rule_id``;
- ``unmapped_lines``: customer lines without a customer.

How the rules are applied without touching lines one by one: the lines are reduced to their
distinct *keys* (``keys``) - a few thousand even for ten million lines. Plans, rules and exchange
rates are resolved per key; the lines then join back to their key once and are priced by the
rule's kind (``price``). Amounts stay unrounded at 12 decimal places (docs/rounding.md); divisions
use ``_xdiv`` (``exact``), because DuckDB divides DECIMALs as DOUBLE.

The modules: ``tables`` (the rated_lines contract), ``exact`` (exact division), ``parameters``
(price plans as tables), ``keys``, ``price``, ``tiers`` (tiered and volume prices),
``price_checks`` (lines a rule cannot price), ``custom`` (custom lines and minimum fees, shared
with the what-if), ``checks`` (conservation, counts, warnings), ``effective_cost`` (lines priced
on an amortised cost they lack), ``commitments`` (Savings Plans and reservations priced on two
views, for the review), ``spans`` (usage charged across a price change or an account move, for
the review), ``frames`` (for notebooks),
``rated_file`` (rated_lines.parquet and the view over it), ``codes`` (its long repeated text as
codes through the sort), ``rate`` (``rate_lines``).
"""

from billing_lib.rating.checks import CurrencyBalance, RatingReport
from billing_lib.rating.exact import DEC, SQL_MACROS, install_macros
from billing_lib.rating.fees import MINIMUM_RULE_COLUMNS, minimum_lines_sql, minimum_rules_sql
from billing_lib.rating.frames import rated_frame
from billing_lib.rating.parameters import MINIMUM_SCOPE, register_pricing
from billing_lib.rating.rate import rate_lines
from billing_lib.rating.rated_file import drop_rated_lines, release_target, temporary_target
from billing_lib.rating.tables import RATED_COLUMNS

__all__ = [
    "DEC",
    "MINIMUM_RULE_COLUMNS",
    "MINIMUM_SCOPE",
    "RATED_COLUMNS",
    "SQL_MACROS",
    "CurrencyBalance",
    "RatingReport",
    "drop_rated_lines",
    "minimum_lines_sql",
    "minimum_rules_sql",
    "rate_lines",
    "rated_frame",
    "register_pricing",
    "release_target",
    "install_macros",
    "temporary_target",
]
