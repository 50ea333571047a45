"""docs/formats.md, generated from the format specifications so the page cannot drift from the code.

``formats_markdown()`` lists every YAML spec in ``formats/`` (whoever wrote it): what identifies the
format, which vendor columns it reads, and how each line-model column is filled. The reading rules
that hold for every format are stated once, below, as prose.
"""

from __future__ import annotations

from pathlib import Path

from billing_lib.importers.spec import FORMATS_DIR, FormatSpec, all_specs, choice_text
from billing_lib.model import LINE_COLUMNS

READING_RULES = """\
## Reading rules (every format)

- **Recognising a file**: the first format (highest priority) whose signature columns all stand in
  the header. Column names match exactly, or else case-insensitively when only one header column
  fits (Azure writes `CostInBillingCurrency` in one export and `costInBillingCurrency` in another).
  A list entry (`A | B`) is satisfied by either name. An unknown file or a missing required column
  gives an error listing the expected and the found columns, and naming a header column renamed
  to a word like the one missing (`BillableQty` for `BillableQuantity`, `Curr` for `Currency`);
  with no such column, an unknown file names in row 1 the columns it lacks of the formats it is
  nearest to (an Azure export without `costInBillingCurrency`).
- **A column renamed** (`importers/renamed_columns.py`): a header column no mapping reads whose
  name is one the format reads and the file lacks in other words (as many words, each equal, an
  abbreviation such as `Qty`, `Amt` or `Desc`, or a typo from the same first letter; `Cost`, `Amt`
  and `Amount` are one word) refuses
  the file naming both, even where the format could do without the column (an alternative, a
  fallback): its values would be lost in silence. Spelt otherwise (other case, spaces,
  punctuation: `Subscription Id`) it is refused as well. A layout priced from
  `vendor_prices.yaml` refuses a column of prices or amounts it does not read that holds a value
  (`importers/unread_prices.py`: a renamed `Price per Point`).
- **Containers**: CSV (also `.tsv`), CSV.gz, zip (each CSV/CSV.gz/TSV/Parquet member is a report
  of its own, named `archive.zip!member`; a zip member is read the same way,
  `a.zip!cur.zip!cur.csv`, as a zipped CUR in the month's zip; a zip in that is refused) and
  Parquet, told by the file's ending. A `.csv` or `.tsv` file whose bytes are gzip, Parquet or a
  zip (an AWS `-00001.csv.gz` saved without its `.gz`) is refused naming what it is and the
  ending to give it; a tar archive given by name (`.tar`, `.csv.tar.gz`) is refused as one, to
  be unpacked (it was named UTF-16 text without a byte-order mark).
- **The reports folder** (`importers/report_names.py`): its files are read, not its subfolders.
  Files a program leaves beside any file are skipped: Excel's lock file of an open file (`~$`),
  macOS metadata (`._name`, a zip's `__MACOSX/`), `.DS_Store`, `Thumbs.db`, `desktop.ini`. A
  spreadsheet workbook (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`), in the folder or in a zip, is
  refused: its charges would be on no invoice; save it as CSV. So is one given to `billing
  import` by name, or saved under a report's ending (`.csv`, `.zip`), told by its bytes: an
  OLE2 file, a zip holding `xl/workbook.xml` or an OpenDocument spreadsheet. Anything else
  not read (a vendor's PDF, a subfolder but `platform/` of the platforms' exports, a zip's
  JSON; not hidden files and folders such as `.git`) is listed among the run's warnings with
  its reason, and in `billing import`'s output for the files and members of a zip it is given
  (`billing import <folder>/*` lists a `.json` so, as a run does; but an AWS delivery's
  `-Manifest.json` or an Azure export run's `manifest.json`, which are read as below, never as
  reports). A file or zip member that
  looks like a vendor report in a container the import does not open (`cur.csv.bz2`, `.7z`), or
  whose first line is a vendor report's header under another ending (a report saved from Excel
  as "Unicode Text", a `.txt`), is refused, by `billing import` and by `billing run`, naming
  the zip and the member. A
  subfolder holding report files at any depth (an AWS Data Exports tree,
  `<export>/data/BILLING_PERIOD=2026-10/*.parquet`, copied into the month's folder) is refused by
  `billing run`, naming it and its files: listed among the warnings, its charges were on no
  invoice.
- **Reports without money** (VMware usage): a format with a `contract_price` is priced from the
  reseller's contract in `parameters/vendor_prices.yaml` by product and month; a line with no
  price is refused naming the product and the month, before anything is written. Units the
  contract converts (points per unit, a price per unit) are in the unit its entry names
  (`unit:`): a report row giving another (`contract_price.unit`, Usage Meter's Unit of Measure),
  or an entry naming none, is refused naming file, row and column.
- **Text**: UTF-8 with or without BOM; UTF-16 little-endian with BOM (Excel's "Unicode text") is
  read too. UTF-16 big-endian and text without a byte-order mark containing NUL bytes are
  refused with the row; any byte that is not UTF-8 (latin-1 exports, Excel's Windows-1252 "CSV
  (Comma delimited)") with the row and the column it stands in. Comma-separated; tab-separated
  only for the formats whose vendor exports tabs (VMware Usage Meter). A header separated by
  semicolons or pipes is refused (a spreadsheet re-save), not guessed, and so is a first line
  holding one field over 128 KiB (a portal's page saved as the report), naming row 1. Excel's
  separator hint, a first line `sep=,` (`sep=` and a tab before a tab-separated header), is
  skipped, as Excel does: the header is row 1 and the rows are numbered as Excel shows the file,
  the rows of the report without the hint. A hint naming another separator than the header's
  (`sep=;`), and a first line beginning like one that is none (`sep=,,,,`, the hint saved as a
  row of cells), is refused naming row 1 (`importers/separator_hint.py`).
- **Rows**: `x_SourceRow` is the row a spreadsheet shows: header = 1, first record = 2, and blank
  lines count as the rows they are (DuckDB skips them, the importer adds them back). In a Parquet
  file it is the 1-based record number. A row with too many or too few values, or a broken quote,
  is refused; every such row is listed, not only the first, with the column where it breaks (a
  value beyond the header's last column by its place: `column 43 (AQ)`). A header column
  without a name (a separator ending every line, as a spreadsheet leaves) is ignored when it
  holds nothing; one holding a value is refused naming its position and the first row with one,
  as is a Parquet column without a name that holds values. A column the format reads named twice
  in the header, also in another case (`BilledCost,...,BilledCost`: a column pasted in again by a
  spreadsheet edit; a vendor writes each once), is refused naming the column and both positions:
  only the first was read, the other's values ignored; likewise in a Parquet file. A column not
  read may repeat, and so may a tag key in two spellings (a legacy CUR's `resourceTags/user:Name`
  and `resourceTags/user:name`: AWS tag keys are case-sensitive): the repeat is read with a suffix
  (`resourceTags/user:name_2`); two such tag columns are one tag, `user_name`.
- **Line ends and quotes**: LF, CRLF, or both in one file (CRLF lines and a last line in LF, as
  when another tool appended to the file; such a file is read from a copy with LF line ends, its
  rows and checksum those of the vendor's file), or a CR alone (Excel for Mac's "CSV
  (Macintosh)"; its rows numbered with its blank lines too). Values in double quotes may hold
  commas, doubled quotes (`"{""project"":""p1""}"`, JSON tags) and line breaks.
- **Missing values**: an empty field, in a CSV (`,,` or `,"",`) or a Parquet text column (`''`,
  as pyarrow and pandas write every empty field): read as absent in every column, exactly as a
  NULL (an empty date or amount is none, an empty `previousInvoiceId` no correction). Only
  formats that declare it (FOCUS) also treat the text `null` as missing. A value of spaces is a
  value (a date or amount of spaces is refused with its row and column).
- **Numbers**: read as `DECIMAL(38,12)` straight from the text, never through a binary float:
  `1.81E-8` is exactly 0.0000000181. A value with more than 12 decimals (Azure writes
  `0.4838709677419368`) is rounded once, half away from zero, to 12; control totals are the sums
  of those values. Parquet amounts stored as binary floats are read through their shortest
  round-trip text. `12,50` or `n/a` is an error naming row and column; every bad value in the
  file is listed. So is a digit separator, which DuckDB would read (`1_2.5` as 12.5, `1_000`):
  no vendor writes one. An exponent (`1.81E-8`, as AWS and Azure write), a leading `+` or `.`
  (`.5`), a trailing `.` and spaces around the number are read: each is one number whichever
  way it is read.
- **Dates and times**: ISO 8601 and the formats a spec lists. A value with a UTC offset or `Z` is
  converted to UTC; a value without one is taken as UTC (as the vendors document their exports).
  An offset no place has (beyond 14 hours, `+99:00`, or past 59 minutes, `-00:60`), which DuckDB
  reads as so many hours, is refused with row and column, and so is a date that does not begin
  with a digit (DuckDB reads the words `epoch` and `infinity` as 1 January 1900), and a time
  followed by a zone's name or another word (`00:00:00 Europe/Amsterdam`, `UTC+2`, `PM` after an
  ISO date), which DuckDB drops, reading the wall clock as UTC; only `UTC` and `GMT` themselves
  are read so (BigQuery's text of a timestamp). A date before
  1900 or after 2999 is refused with the file's text and what it was read as (`05/01/24` in an
  ISO format is read as the year 5).
  Impossible values (hour 30, month 13) are refused with row and column, never corrected: the
  FOCUS specification's example `commitment_discount_purchase_scenario_3.csv` has
  `2023-02-01T30:00:00Z` in row 5, column ChargePeriodEnd, and is refused. Short dates are read in
  the order the format declares (US month first for Azure and the FOCUS examples), never guessed.
  A vendor that writes ISO dates itself (VMware's billing API and Hourly Usage Report) has slash
  dates only from a spreadsheet that saved the file again, in its locale's order: those are read
  in the order a number above 12 in the file shows (`17/10/2026` day first, `10/17/2026` month
  first), and a file where none does while a date reads two ways (`01/10/2026 00:00`, all days
  12 or less) is refused naming each row and column and both readings: write ISO dates.
  A line whose ChargePeriodEnd or BillingPeriodEnd is before its start is refused naming row and
  column. That is how a day-first file read month first shows where none of its days is above
  12 (a Partner Center download in a European locale: `05/10/2026`-`04/11/2026` as 10 May-11
  Apr); a seat's list price prorated by the negative days was a credit of the charge.
  A column a format types as `date` (an inclusive end date such as Microsoft's `ChargeEndDate`)
  keeps only its day: a time printed with it (`11/11/2026 11:59:59 PM`) is dropped before the
  model's end-exclusive day is added, and so is a UTC offset: the day is the one written
  (`2027-01-01T00:00:00+13:00` is 1 January, not 31 December in UTC).
- **Currency**: every line needs a three-letter BillingCurrency. A FOCUS file without that column
  imports only when the caller gives the currency (`billing run --currency EUR`, `billing import
  --currency EUR`, the notebook's parameter `currency`, `default_currency="EUR"`; recorded in the
  run's `manifest.json`). A file's own currency is never overridden. Formats marked single-currency
  refuse a file mixing currencies, listing the rows that differ from the file's main currency.
- **Tags**: always a JSON object (text); no tags is NULL.
- **Azure regions**: a Microsoft line's `RegionId` (every Microsoft format, and FOCUS lines of
  provider Microsoft) is Azure's programmatic region name, whichever spelling the export wrote:
  `westeurope` for `westeurope` (cost details, FOCUS RegionId), `West Europe` (display name),
  `WESTEUROPE`, `EU West` (legacy EA and partner usage names, MeterRegion), `eastus2` for the EA
  export's `EastUS2` and for `US East 2` (the SQL macro `_azure_region`; the table of legacy names
  and its source in `billing_lib/azure_regions.py`). A spelling not in the table is kept in lower
  case without spaces (`Zone 1` reads `zone1`), never refused: a region Azure opens later does
  not stop a run. Other vendors' regions are kept as written (AWS's `eu-central-1`).
- **Parts of one export**: a large export comes as several files, cut wherever a size is reached:
  AWS Data Exports `<export-name>-00001.csv.gz`, `-00002` ... (five digits), Azure Cost
  Management's partitioned exports `part_0_0001.csv`, `part_1_0001.csv` ..., BigQuery's
  wildcard exports `<name>-000000000000.csv`, `-000000000001` ... (twelve digits from 0: how
  Google Cloud's FOCUS data, a BigQuery table, leaves it in files), other tools
  `<name>-part-00001.csv`. Files given in one import that lie in one folder (or one folder of a
  zip), have the same name but for a part number of one of these layouts (digits laid out
  alike), one ending, one format and the same columns in the same order, each with its own
  number, are parts of one export. For FOCUS, whose identical rows are each a line, they are
  read as one report: two identical rows the cut put into two parts are both billed, as in one
  file, while two different exports that overlap (other names, folders or columns; a second
  download `part_0_0001 (1).csv`) are refused as below. Other formats compare parts as reports
  (an identical row in two parts is the same cost twice there, as inside one file)
  (`importers/export_parts.py`).
- **Twice**: a row repeated inside one file is refused, naming both rows and the key (each
  format's "Duplicate key" below: the vendor's line id, or every column of the row where the
  format has none); only FOCUS accepts identical rows inside one file, for the reason given in its
  section (not the same charge in two FOCUS files: they are compared as below). A report given
  twice is refused naming both files: the same bytes under another name, the same vendor line ids
  (`x.csv` and `x.csv.gz`, a zip of it), or for formats without line ids the same charges: every
  line's values in the line model that identify the charge (account, resource, SKU and meter,
  charge period, quantities, amounts, charge type, unit, currency), not its file, row, vendor
  invoice id or tags, nor its names and descriptions where their ids are there (a customer
  renamed, a tag added or a meter renamed between two downloads of one month; a FOCUS line without
  SkuId and SkuPriceId is told apart by its description), whether re-saved with CRLF line ends, a
  BOM, other date or number spelling, re-compressed, as CSV and as Parquet, re-ordered, with a
  column the format does not read added or dropped, or the unbilled export of the same usage. A
  report sharing only some line ids with an earlier one is refused too, and so is a report without
  line ids sharing only some of those charges with an earlier one of its format (two overlapping
  month-to-date exports), naming the shared rows of both; the store keeps a hash of each such line
  (`imported_rows`) for it. Lines without the line id their format has (an AWS CUR exported
  without its identity columns) are compared so with every earlier line of their format, and a
  repeat inside their file is a line equal in every value. AWS gives each delivery of a CUR
  month line ids of its own, so two deliveries of one payer's month (an early, partial one
  beside the restated one; two executions' folders of a Data Export; two assemblies of a legacy
  CUR) are refused by payer and billing period, naming both, unless they are parts of one
  delivery (`importers/deliveries.py`). The part numbers cannot tell a delivery missing a part
  (`-00001` given alone of three: two thirds of the month on no invoice) nor an older
  delivery's part left beside the latest under the same name; the delivery's manifest makes
  the check exact. A file or zip member named `<export>-Manifest.json` among the reports (Data
  Exports' `metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`, listing the delivery's
  files in `dataFiles`; a legacy CUR's `<report>-Manifest.json`, listing them in `reportKeys`)
  is read: a data file it lists that is not among the reports, and a report of its export (the
  same name but for the part number) and billing month that it does not list, refuse the import
  naming the manifest and the files (`importers/manifests.py`). A listed file is matched by
  its name and as many of its folders as the copy kept (of two executions' folders in one zip,
  the one the manifest names). An Azure Cost Management export run's `manifest.json` (beside
  its parts `part_0_0001.csv` ... in `<export>/<YYYYMMDD-YYYYMMDD>/<run id>/`, naming each in
  `blobs[].blobName`) is read alike: a part it lists that is not given refuses the import (it
  was "not a vendor report", and a run given two of its three parts billed two thirds of the
  month). Its `blobs[].dataRowCount` (a part's data rows, the header not counted) is compared
  with the rows read from the part: a part cut short at a line boundary (a download broken off)
  refuses the import naming the part, the manifest's count and the rows read; blank lines are no
  rows of either count. A `-Manifest.json` or `manifest.json` that is no JSON listing data files
  (or with a `dataRowCount` that is no whole number) is refused. AWS's manifests state no row
  counts or totals to check. FOCUS exports are not
  compared by billing account and period: an export covers a scope (an Azure subscription or
  resource group), so two exports of one billing account's month are not two deliveries
  (the FOCUS section). A batch of files is all-or-nothing: if one fails, `lines` is unchanged.
- **One format per account's usage**: the same usage in two layouts shares no line id (Microsoft's
  invoice reconciliation file with Azure plan rows, the daily rated usage file and a partner's
  Azure cost export; an AWS CUR 2.0, a legacy CUR and a FOCUS export; a Usage Meter month with and
  without its price). Once all reports of an import are read, the Usage lines of one vendor
  account (`x_Vendor` + `SubAccountId`), or of one Azure subscription (the `/subscriptions/<id>`
  of ResourceId, else of a FOCUS SubAccountId, in any case: Microsoft keys the same usage by
  tenant in Partner Center's files and by subscription in FOCUS), in one charge month coming from
  more than one format are refused, naming the account or subscription, the month and both
  files (`importers/usage_sources.py`). The invoice file's Azure plan rows name no subscription:
  they are compared with a FOCUS or EA/MCA export's Usage by the customer `accounts.csv` maps the
  tenant and the subscription to (in a run, or `billing import --parameters`). Other
  charge categories are not compared: the invoice file's licences beside the daily file's Azure
  usage are read.
- **Refused although readable**: a report with a header and no rows ("no rows; a vendor report
  for a month has lines"); a CSV row in which every required column naming a line (not an amount
  or the currency) is empty, as in a totals row or a row of empty cells a spreadsheet left ("rows
  that are no line of the report"); in a run (or `billing import --period`), a report none of
  whose lines is charged in the run's month by its charge or billing period (a September report
  in an October run, named with its first rows; a late credit for an earlier month is entered in
  `custom_lines.yaml`), or whose
  lines charged outside the month carry more than half of its charges (positive BilledCost, in a
  currency): next month's Partner Center invoice, which bills one late change of this month
  beside next month's licences; and in a format with a billing period (all but Partner
  Center's invoice file), a line whose billing period ends before the run's month (however
  little it carries: two months' exports pasted into one file), or whose billing period and
  charge are both outside the month: a line of the vendor's bill for another month, as in two
  months in one file (a download of several months, or next month's rows pasted under this
  month's), named by row. A report
  naming several vendor invoices (InvoiceId) is judged per invoice as well: next month's Partner
  Center invoice file pasted under this month's carried half of the charges, not more. A report
  with a few lines outside the month (a licence change of the month before, a late credit the
  vendor bills in the month) is read, and the run warns about them; a line whose
  quantity and cost have contradicting signs (a negative quantity with a positive cost, or a
  positive quantity with a negative cost on a Usage or Purchase line that is not one of the
  format's credit-like charge types), which a `list_price` or `fixed_price` rule would price as
  the opposite of what the vendor billed. Credits as the vendors print them pass (Microsoft: a
  negative quantity with a negative Subtotal, or a positive quantity on a credit charge type).
- **Re-saved in a spreadsheet**: a text report opened and saved in Excel or LibreOffice keeps its
  columns and amounts, but the ids the spreadsheet read as numbers are rewritten: a long one in
  scientific notation (the AWS account `402719385610` as `4.02719E+11`), leading zeros dropped
  (Microsoft's SKU id `0002` as `2`). Its lines would map to no customer or match other price
  rules. The ids each format lists ("Ids a spreadsheet rewrites" below) are checked: a value in
  scientific notation, or of the shape the format gives for dropped zeros (an AWS account is
  always 12 digits: `12345678901` or `402719385610.0` is not one), refuses the file naming
  every such row and column (`importers/spreadsheet_damage.py`). Parquet keeps its types: only an
  id column it stores as a number (a tool that read the ids as numbers rewrote the file) is
  checked so. A larger report loses its rows after a worksheet's last, 1,048,576: a text report
  ending exactly at that row is refused naming it, its later lines lost. A number the
  spreadsheet wrote in its locale's format (`1,234.5`, `1.234,5`, `18,5`) is refused naming
  file, row and column as such, not read; so is a row that repeats the header (two reports
  pasted into one file), named as the header again.
- **Out of range**: an amount of 10^26 or more in size, read or computed (points x price per point),
  does not fit `DECIMAL(38,12)`: an error naming file, row and column says "out of range", showing
  the amount's size and the exact amounts of the row it is computed from. `Infinity`, `inf`,
  `-Infinity` and `NaN` are no numbers, not amounts out of range: refused naming file, row and
  column as expected "a decimal number (e.g. 12.34 or 1.5E-8), not Infinity or NaN". Products of two
  amounts (`_amount_mul` in the mappings, `importers/amounts.py`) are exact to 12 places, rounded
  half away from zero, up to that size (DuckDB's own product of two 12-place amounts stops at
  10^14). The rating's limit is lower: a price x quantity or cost x factor of 10^14 or more stops
  it, naming the line (docs/guarantees.md).
- **Control totals**: per file and currency, rows and cost read versus rows and BilledCost after
  mapping; a difference stops the import with the figures.
"""


def _comment(path: Path) -> str:
    """The leading comment block of a YAML spec: the format's notes, written by its author."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


#: What the importer fills a derived column with (model.DERIVED_COLUMNS) where a format does not
#: map it.
_FILLED = {
    "x_PricingDate": "ChargePeriodStart's day (filled by the importer)",
    "x_FollowsCredits": "ChargeCategory Credit, or Adjustment with BilledCost 0 or less (filled by "
    "the importer)",
    "x_SubscriptionId": "-",
    "x_RefundsSeats": "-",
}


def _source(spec: FormatSpec, target: str) -> str:
    if target not in spec.columns:
        return _FILLED.get(target, "(filled by the importer)")
    m = spec.column_map(target)
    if target == "Tags" and spec.tag_columns:
        example = "user:CostCenter" if spec.tag_columns.endswith("/") else "user_cost_center"
        columns = (
            f"every `{spec.tag_columns}<key>` column, as a JSON object keyed as the CUR 2.0 "
            f"names them (`{spec.tag_columns}{example}` as `user_cost_center`); empty "
            "values left out"
        )
        tags = " or ".join(f"`{a}`" for a in m.alternatives())
        return f"{tags}; in a file without it, {columns}" if tags else columns
    if m.value is not None:
        return f"`{m.value}` (fixed)"
    if m.alternatives():
        return " or ".join(f"`{a}`" for a in m.alternatives())
    if m.sql == "NULL":
        return "-"
    return f"`{_cell(m.sql or '')}`"


def _duplicate_key(spec: FormatSpec) -> str:
    if spec.key_kind == "row":
        key = "the whole row (every column of the file, numbers compared as numbers)"
    else:
        key = "the vendor's line id, " + " + ".join(f"`{c}`" for c in spec.line_id_columns())
    if spec.repeated_rows:
        return f"{key}; identical rows are accepted: {_cell(spec.repeated_rows)}"
    return f"{key}; a repeat is refused"


def _ids_shapes(spec: FormatSpec) -> str:
    """The dropped-zeros shapes of a format's ids, as the docs list them."""
    shapes = [
        f"`{c}` matching `{shape.damaged}`" + (f" where `{shape.when}`" if shape.when else "")
        for c, shape in spec.id_shapes().items()
        if shape
    ]
    return f", and {', '.join(shapes)}" if shapes else ""


def _older_names(spec: FormatSpec) -> list[str]:
    """The docs lines of the columns an older layout names otherwise (``older_names``)."""
    return [
        f"- `{o.name}` is read for `{column}` ({o.what}) only in {o.older_layout}: a file "
        f"without `{column}` whose `{o.name}` stands beside any of "
        f"{', '.join(f'`{c}`' for c in o.newer_columns)} is refused naming row 1 and "
        f"`{column}`"
        for column, o in spec.older_names.items()
    ]


def _newer_names(spec: FormatSpec) -> list[str]:
    """The docs lines of the columns a newer version names otherwise (``newer_names``)."""
    return [
        f"- `{newer}` (a newer version's name) is read for `{column}` in a file without `{column}`"
        for column, newer in spec.newer_names.items()
    ]


def _row_checks(spec: FormatSpec) -> list[str]:
    """The docs lines of the rows a format refuses (``row_checks``)."""
    return [
        f"- Rows refused, naming row and column `{c.column}`"
        f"{' (in a file that has the column)' if c.if_in_file else ''}, unless it holds: "
        f"{' '.join(c.expected.replace('{detail}', '').split())}"
        for c in spec.row_checks
    ]


def _row_warnings(spec: FormatSpec) -> list[str]:
    """The docs lines of the rows a format imports but lists as warnings (``row_warnings``)."""
    return [
        f"- Rows imported but listed among the import report's warnings, naming row and columns "
        f"{', '.join(f'`{c}`' for c in w.columns)}"
        f"{' (in a file that has the first)' if w.if_in_file else ''}: "
        f"`{' '.join(w.when.split())}`"
        for w in spec.row_warnings
    ]


def _total_row(spec: FormatSpec) -> list[str]:
    """The docs line of a format whose reports may end with a total row (``total_row``)."""
    if not spec.total_row:
        return []
    return [
        f"- A total row under the lines is read as the report's control total, not as a line "
        f"(a CSV's last row labelled `Total`, `Totals` or `Grand total` in its first column, no "
        f"line named in it): each sum it prints must equal its column's over the lines, exactly, "
        f"else the file is refused naming the row, the column and both figures; a row labelled "
        f"so elsewhere (lines after it, a subtotal) is refused: {_cell(spec.total_row)}"
    ]


def _effective_cost_columns(spec: FormatSpec) -> list[str]:
    """The docs line naming the columns each commitment line's EffectiveCost is computed from."""
    if not spec.effective_cost_columns:
        return []
    listed = "; ".join(
        f"`{kind}` from {', '.join(f'`{c}`' for c in columns)}"
        for kind, columns in spec.effective_cost_columns.items()
    )
    return [
        f"- Amortised cost (EffectiveCost) of the commitment lines: {listed}. A line without "
        "one of them (not exported, or empty) has no EffectiveCost, and a rule pricing "
        "EffectiveCost refuses it, naming file, row and columns"
    ]


def _slash_order(spec: FormatSpec) -> list[str]:
    """The line on how a format's slash dates are ordered, where the file decides it."""
    if spec.slash_date_order != "from_file":
        return []
    return [
        "- Slash dates: a spreadsheet's re-save, in the order a number above 12 in the file shows "
        "(the formats' `%m/%d` read as `%d/%m` for `17/10/2026`); a file where no number tells "
        "and a date reads two ways (`01/10/2026`) is refused: write ISO dates"
    ]


def _one_delivery(spec: FormatSpec) -> list[str]:
    """The docs line of a format whose reports are one delivery per billing account and month."""
    if not spec.one_delivery:
        return []
    return [
        "- One delivery per billing account (BillingAccountId) and billing period: two reports "
        "of one that are not parts of one delivery (one folder, one name but for a `-00001` or "
        f"`-1` part number) are refused, naming both (lines without a billing account are not "
        f"compared): {_cell(spec.one_delivery)}"
    ]


def _optional_key_parts(spec: FormatSpec) -> list[str]:
    """The docs line of a format whose reports may lack parts of what tells its lines apart."""
    parts = spec.optional_key_parts
    if parts is None:
        return []
    named = " or ".join(f"`{source}` (`{col}` empty)" for col, source in parts.columns.items())
    return [
        f"- {named} may be missing: a line without it that bills the same {parts.words} as a "
        "line with it, in any report of the format, is refused naming both files and rows (it "
        "may be that usage exported again without the column)"
    ]


def _money_back(spec: FormatSpec) -> str:
    """The docs line naming the lines that give money back on a positive quantity."""
    if spec.money_back_marks:
        marks = ", ".join(f"`{c}`" for c in spec.money_back_marks)
        return (
            "- Lines that give money back on a positive quantity (not a contradiction of signs): "
            f"those the columns {marks} mark, as the notes above say; they have no PricingQuantity"
        )
    return (
        "- Charge types that give money back on a positive quantity (not a contradiction of "
        f"signs): {', '.join(f'`{t}`' for t in spec.positive_quantity_credits) or 'none'}"
    )


def spec_markdown(spec: FormatSpec, path: Path | None = None) -> str:
    """One format's section: identification, vendor columns read, and the column mapping."""
    out = [f"## {spec.title} (`{spec.name}`)", ""]
    if path is not None and _comment(path):
        out += [_comment(path), ""]
    out += [
        f"- Documented at: {spec.documented_at}",
        (
            f"- Recognised by the columns: "
            f"{', '.join(f'`{choice_text(c)}`' for c in spec.signature)}"
            f" (priority {spec.priority})"
        ),
        f"- Required columns: {', '.join(f'`{choice_text(c)}`' for c in spec.required)}",
        f"- Missing-value markers: {', '.join(repr(v) for v in spec.null_values)}",
        (
            "- Date formats besides ISO 8601: "
            f"{', '.join(f'`{f}`' for f in spec.timestamp_formats) or 'none'}"
        ),
        *_slash_order(spec),
        f"- One currency per file: {'yes' if spec.single_currency else 'no'}",
        f"- Duplicate key inside one file: {_duplicate_key(spec)}",
        *_one_delivery(spec),
        *_optional_key_parts(spec),
        _money_back(spec),
        f"- Ids a spreadsheet rewrites (refused in scientific notation{_ids_shapes(spec)}): "
        f"{', '.join(f'`{c}`' for c in spec.ids) or 'none'}",
        f"- Vendor columns read: {', '.join(f'`{c}`' for c in sorted(spec.file_columns()))}",
        *_older_names(spec),
        *_newer_names(spec),
        *_row_checks(spec),
        *_row_warnings(spec),
        *_total_row(spec),
        *_effective_cost_columns(spec),
        "",
        "| line-model column | from the vendor file |",
        "|---|---|",
    ]
    out += [f"| {c.name} | {_source(spec, c.name)} |" for c in LINE_COLUMNS]
    typed = [f"`{c}` ({k})" for c, k in sorted(spec.types.items())]
    out += ["", f"Typed source columns: {', '.join(typed) or 'none'}.", ""]
    return "\n".join(out)


def formats_markdown() -> str:
    """The whole of docs/formats.md."""
    paths = {p.stem: p for p in FORMATS_DIR.glob("*.yaml")}
    specs = sorted(all_specs(), key=lambda s: s.name)
    out = [
        "# Supported vendor report formats",
        "",
        (
            "<!-- Generated by billing_lib.importers.docs.formats_markdown() from "
            "billing_lib/importers/formats/*.yaml; do not edit by hand. Regenerate with: "
            "python -m billing_lib.importers.docs > docs/formats.md -->"
        ),
        "",
        "| format | name | recognised by |",
        "|---|---|---|",
    ]
    out += [
        f"| {s.title} | `{s.name}` | "
        f"{_cell(', '.join(f'`{choice_text(c)}`' for c in s.signature))} |"
        for s in specs
    ]
    out += ["", READING_RULES]
    for spec in specs:
        path = next((p for p in paths.values() if _load_name(p) == spec.name), None)
        out.append(spec_markdown(spec, path))
    return "\n".join(out).rstrip() + "\n"


README_START = "<!-- formats:start (generated: python -m billing_lib.importers.docs --readme) -->"
README_END = "<!-- formats:end -->"


def readme_formats() -> str:
    """The README's list of supported formats with every vendor column each one reads (between
    README_START and README_END; tests/test_formats_doc.py keeps it equal to the specs)."""
    out = [README_START, "", "| format | vendor columns read |", "|---|---|"]
    for s in sorted(all_specs(), key=lambda s: s.name):
        columns = ", ".join(f"`{c}`" for c in sorted(s.file_columns()))
        out.append(f"| {s.title} (`{s.name}`) | {_cell(columns)} |")
    out += ["", README_END]
    return "\n".join(out)


def readme_with_formats(readme: str) -> str:
    """``readme`` with its generated formats section replaced by the current one."""
    head, rest = readme.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return head + readme_formats() + tail


def _load_name(path: Path) -> str | None:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("name:"):
            return line.split(":", 1)[1].strip()
    return None


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--readme"]:  # rewrite README.md's formats section in place
        readme = Path(__file__).resolve().parents[2] / "README.md"
        readme.write_text(readme_with_formats(readme.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        sys.stdout.write(formats_markdown())
