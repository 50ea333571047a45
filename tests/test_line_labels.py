"""Readable invoice lines: the text a customer recognises (product and the name of the
subscription, account or resource), quantities and prices as shown, credits on lines of their own,
and the check that no line of the sample month or of the benchmark month reads as a raw id."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from billing_lib.errors import ParameterError
from billing_lib.invoices import build_invoices, load_invoicing
from billing_lib.line_figures import display_figures, display_quantity, display_unit
from billing_lib.line_labels import line_text_problems, resource_name_sql
from billing_lib.numbering import open_register
from billing_lib.rating import rated_frame
from billing_lib.run import run_all
from tests.invoice_helpers import ISSUED, PERIOD, line, setup

D = Decimal
REPO = Path(__file__).resolve().parents[1]
GUID = "7c2d9e4b-1a3f-4c6d-8e5b-2f9a0c7d3e12"
VM_URI = (
    "/subscriptions/9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c02/resourceGroups/rg-tms-prod/providers/"
    "Microsoft.Compute/virtualMachines/vm-tms-app01"
)


@pytest.mark.parametrize(
    ("exact", "shown"),
    [
        (D("349.9999999986"), D("350")),
        (D("5619.3548387094"), D("5619.35")),
        (D("2599.9999999989"), D("2600")),
        (D("18"), D("18")),
        (D("2327.5"), D("2327.50")),
        (D("0.0004"), D("0.0004")),
        (D("-5"), D("-5")),
    ],
)
def test_quantities_are_shown_to_two_places_or_whole(exact, shown):
    assert str(display_quantity(exact)) == str(shown)


@pytest.mark.parametrize(
    ("unit", "shown"),
    [
        ("1 Hour", "Hour"),
        ("1 GB/Month", "GB/Month"),
        (" 1  Hour", "Hour"),
        ("1\tGB/Month\n", "GB/Month"),  # a vendor's tab or newline reads as a space
        ("10\r\nHours", "10 Hours"),
        (" \t", None),
        ("10 Hours", "10 Hours"),
        ("100 GB", "100 GB"),
        ("1", "1"),
        ("Hrs", "Hrs"),
        # Microsoft's "per period" packs of one (Partner Center's "1/Day": "31 1/Day" read as a
        # fraction), with EA's space before the slash and its doubled "1 1 Hour"
        ("1/Day", "Day"),
        ("1/Month", "Month"),
        ("1/Hour", "Hour"),
        ("1 /Month", "Month"),
        ("1 1 Hour", "Hour"),
        ("1/10 Days", "10 Days"),
        # packs of a thousand, ten thousand, a million, a hundred keep their size
        ("1K/Hour", "1K/Hour"),
        ("10K/Month", "10K/Month"),
        ("10K", "10K"),
        ("1M", "1M"),
        ("100/Month", "100/Month"),
        ("10 /Day", "10 /Day"),
        ("1 /", "1 /"),
        (None, None),
    ],
)
def test_a_unit_of_a_pack_of_one_is_shown_without_its_1(unit, shown):
    assert display_unit(unit) == shown


def test_the_sample_s_iot_hub_line_reads_31_day_not_31_1_day(sample_outputs):
    """C006's IoT Hub: 31 units of Partner Center's "1/Day" at 0.7028 = 21.79."""
    data = json.loads((sample_outputs / PERIOD / "invoices.json").read_text())
    [iot] = [
        ln
        for inv in data["invoices"]
        if inv["customer_id"] == "C006"
        for ln in inv["lines"]
        if ln["description"] == "IoT Hub"
    ]
    assert (iot["display_quantity"], iot["unit"], iot["display_unit_price"], iot["amount"]) == (
        "31",
        "Day",
        "0.7028",
        "21.79",
    )


def test_a_unit_price_is_shown_only_where_it_gives_the_amount():
    # 744 h x 0.192178241667 = 142.98: 0.1922 x 744 = 142.9968 -> 143.00, so no price
    assert display_figures(D(744), D("0.192178241667"), D("142.98"), "EUR") == (D(744), None)
    # 31 x 0.7027776 = 21.786 -> 21.79 and 31 x 0.7028 = 21.7868 -> 21.79: shown to 4 places
    assert display_figures(D(31), D("0.7027776"), D("21.79"), "EUR") == (D(31), D("0.7028"))
    # whole prices keep the currency's places
    assert display_figures(D(85), D("5.3"), D("450.50"), "EUR") == (D(85), D("5.30"))
    assert display_figures(D(3), D("1200"), D("3600"), "JPY") == (D(3), D("1200"))
    # a credit of 5 seats (quantity positive in the vendor file, amount negative) shows -5 x 3.34
    assert display_figures(D(5), D("-3.34"), D("-16.70"), "EUR", credit=True) == (
        D(-5),
        D("3.34"),
    )
    # so does a line of one negative price, a custom credit: -1 x 200.00, never 1 x -200.00
    assert display_figures(D(1), D("-200"), D("-200.00"), "EUR") == (D(-1), D("200.00"))
    # one rounding to nothing takes the sign of its exact amount: 0.5 x -0.004 = -0.002 reads
    # -0.5 x 0.004 beside 0.00 (the e-invoice states that quantity at that price, BR-27)
    assert display_figures(D("0.5"), D("-0.004"), D("0.00"), "EUR", exact=D("-0.002")) == (
        D("-0.5"),
        D("0.004"),
    )
    assert display_figures(D("0.5"), D("0.004"), D("0.00"), "EUR", exact=D("0.002")) == (
        D("0.5"),
        D("0.004"),
    )
    # a line of several prices netting negative keeps its quantity: it is no credit
    assert display_figures(D(100), None, D("-5.00"), "EUR") == (D(100), None)
    assert display_figures(None, None, D("10.00"), "EUR") == (None, None)


def test_a_fractional_quantity_is_shown_to_as_many_places_as_give_the_amount_at_its_price():
    """A seat fee of 14.225806451613 seat-months at 2.00 is 28.45: 14.23 x 2.00 gives 28.46, so
    its price was not shown and its e-invoice line stated 1 at 28.45; 14.226 x 2.00 = 28.452
    gives 28.45. Up to 4 places (a quantity is not shown finer), else 2 places without a
    price, as before."""
    assert display_figures(D("14.225806451613"), D(2), D("28.45"), "EUR") == (
        D("14.226"),
        D("2.00"),
    )
    assert display_figures(D("9.870967741935"), D(2), D("19.74"), "EUR") == (D("9.87"), D("2.00"))
    # 3 places would not do (1.234 x 100.00 = 123.40): 4
    assert display_figures(D("1.23449"), D(100), D("123.45"), "EUR") == (D("1.2345"), D("100.00"))
    # the price of no quantity of up to 4 places gives the amount: none shown, 2 places
    assert display_figures(D("744.000049"), D("0.192178241667"), D("142.98"), "EUR") == (
        D(744),
        None,
    )


def _build(rows, tmp_path, grouping):
    con, customers, invoicing = setup(rows)
    customers["C002"] = customers["C002"].model_copy(update={"line_grouping": grouping})
    register = open_register(tmp_path / "register.sqlite")
    return build_invoices(con, customers, invoicing, PERIOD, register, ISSUED), con, customers


@pytest.mark.parametrize(
    ("resource_id", "resource_name", "account", "name"),
    [
        ("arn:aws:ec2:eu-west-1:200001290797:res/5d3d", None, "acct", "5d3d"),
        ("arn:aws:s3:::bucket", None, "acct", "bucket"),
        ("/subscriptions/s/resourceGroups/g/providers/p/vm1//", None, "acct", "vm1"),
        ("arn:aws:ec2:x:", None, "acct", None),  # no last segment
        ("///", None, "acct", None),
        ("id-1", "/a/b:c/", "acct", "c"),  # the name, where the line has one
        ("sub-1", "Contoso Prod", "acct", "Contoso Prod"),
        (None, "ignored", "acct", "acct"),  # no resource: the account's name
    ],
)
def test_a_resource_is_named_by_the_last_segment_of_its_arn_or_uri(
    resource_id, resource_name, account, name
):
    row = "(SELECT CAST(? AS VARCHAR) AS i, CAST(? AS VARCHAR) AS n, CAST(? AS VARCHAR) AS a)"
    sql = f"SELECT {resource_name_sql('i', 'n', 'a')} FROM {row}"
    got = duckdb.connect().execute(sql, [resource_id, resource_name, account]).fetchall()
    assert got == [(name,)]


def test_lines_by_subscription_read_as_product_and_name(tmp_path):
    rows = [
        line(
            "C002",
            "2811.12",
            vendor="microsoft",
            service="Microsoft 365 E3",
            subscription=GUID,
            subscription_name="Head office",
            quantity="85",
            unit="Licenses",
            unit_price="33.072",
            description="Microsoft 365 E3",
        ),
        line(
            "C002",
            "142.98",
            vendor="microsoft",
            service="Virtual Machines",
            subscription=VM_URI,
            subscription_name="vm-tms-app01",
        ),
        # no name in the vendor file: the product and a short id
        line("C002", "20.92", service="Savings Plans", subscription="518204736291"),
        # one account, two services: the vendor's name and the account's
        line(
            "C002",
            "5",
            service="Amazon EC2",
            subscription="402719385610",
            subscription_name="dijkstra-prod",
        ),
        line(
            "C002",
            "6",
            service="Amazon S3",
            subscription="402719385610",
            subscription_name="dijkstra-prod",
        ),
    ]
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "subscription"])
    assert [ln.description for ln in inv.lines] == [
        "Amazon Web Services – dijkstra-prod",
        "Savings Plans 518204736291",
        "Microsoft 365 E3 – Head office",
        "Virtual Machines – vm-tms-app01",
    ]
    assert [ln.amount for ln in inv.lines] == [D(11), D("20.92"), D("2811.12"), D("142.98")]
    for ln in inv.lines:
        assert line_text_problems(ln.description, ln.display_quantity) == []


def test_two_subscriptions_that_read_the_same_stay_apart_with_a_short_id(tmp_path):
    rows = [
        line(
            "C002",
            "10",
            vendor="microsoft",
            service="Microsoft 365 E3",
            subscription=GUID,
            subscription_name="Microsoft 365 E3",
        ),
        line(
            "C002",
            "20",
            vendor="microsoft",
            service="Microsoft 365 E3",
            subscription=GUID[:-1] + "3",
            subscription_name="Microsoft 365 E3",
        ),
    ]
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "subscription"])
    texts = [ln.description for ln in inv.lines]
    assert sorted(ln.amount for ln in inv.lines) == [D(10), D(20)]
    assert len(set(texts)) == 2 and all(t.startswith("Microsoft 365 E3 (") for t in texts)


def test_a_seat_bought_and_cancelled_gives_a_charge_line_and_a_credit_line(tmp_path):
    # 9 seats bought (198.00) and cancelled (-178.84) the same month: not "18 Licenses 19.16"
    rows = [
        line(
            "C002",
            "198",
            vendor="microsoft",
            service="Microsoft 365 Business Premium",
            quantity="9",
            unit="Licenses",
            unit_price="22",
            charge_category="Purchase",
        ),
        line(
            "C002",
            "-178.839",
            vendor="microsoft",
            service="Microsoft 365 Business Premium",
            quantity="9",
            unit="Licenses",
            unit_price="-19.871",
            charge_category="Credit",
            source_row=3,
        ),
    ]
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "service"])
    assert [
        (ln.description, ln.display_quantity, ln.unit, ln.display_unit_price, ln.amount)
        for ln in inv.lines
    ] == [
        ("Microsoft 365 Business Premium", D(9), "Licenses", D("22.00"), D("198.00")),
        ("Microsoft 365 Business Premium – credit", D(-9), "Licenses", D("19.871"), D("-178.84")),
    ]
    assert inv.net == D("19.16")


def test_a_bad_tag_key_names_the_customer(tmp_path):
    with pytest.raises(ParameterError, match=r"customers\[id=C002\]\.line_grouping.*tag:<key>"):
        _build([line("C002", "1")], tmp_path, ["tag:bad'key"])


def test_the_notebooks_rated_lines_show_the_invoices_texts(tmp_path):
    rows = [
        line(
            "C002",
            "142.98",
            vendor="microsoft",
            service="Virtual Machines",
            subscription=VM_URI,
            subscription_name="vm-tms-app01",
        ),
        line("C002", "-3", service="Amazon EC2", subscription="i-0abc", charge_category="Credit"),
        line("C003", "4", service="Amazon EC2"),
    ]
    [c2, c3], con, customers = _build(rows, tmp_path, ["vendor", "subscription"])
    names = {"aws": "Amazon Web Services", "microsoft": "Microsoft"}
    df = rated_frame(con, {k: customers[k] for k in ("C002", "C003")}, vendor_names=names)
    assert sorted(set(df["invoice_line_group"])) == sorted(
        ln.description for inv in (c2, c3) for ln in inv.lines
    )


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("Amazon Elastic Compute Cloud – i-0abc1234def567890", ["holds an AWS resource id"]),
        ("EBS (vol-0123abcd)", ["holds an AWS resource id"]),
        ("Amazon Elastic Compute Cloud – vll-prod", []),
        ("Amazon Elastic Compute Cloud …def567890", []),  # a short id telling two lines apart
        ("i-love-lamp-0123abcd", []),  # a name its owner chose
    ],
)
def test_an_aws_resource_id_in_a_line_text_is_a_problem(text, problems):
    assert line_text_problems(text, None) == [f"{text!r} {p}" for p in problems]


# -- the check over whole months -------------------------------------------------------------------


def _problems_of_run(folder: Path) -> list[str]:
    data = json.loads((folder / "invoices.json").read_text(encoding="utf-8"))
    out = []
    for inv in data["invoices"]:
        for ln in inv["lines"]:
            quantity = None if ln["display_quantity"] is None else D(ln["display_quantity"])
            out += [
                f"{inv['number']}: {p}" for p in line_text_problems(ln["description"], quantity)
            ]
            if ln["display_unit_price"] is not None:
                assert -D(ln["display_unit_price"]).as_tuple().exponent <= 4
    return out


def test_no_line_of_the_sample_month_reads_as_a_raw_id(sample_outputs):
    folder = sample_outputs / "2026-10"
    assert _problems_of_run(folder) == []
    texts = [
        ln["description"]
        for inv in json.loads((folder / "invoices.json").read_text())["invoices"]
        for ln in inv["lines"]
    ]
    assert "Virtual Machines – vm-tms-app01" in texts
    # C002's EC2 instances have no Name tag: named by their accounts, not their ids
    assert "Amazon Elastic Compute Cloud – vll-prod" in texts
    assert "Amazon Elastic Compute Cloud – vll-dev" in texts
    assert "Microsoft 365 Business Premium – credit (2026-10-05 to 2026-11-01)" in texts
    units = {
        ln["description"]: ln["unit"]
        for inv in json.loads((folder / "invoices.json").read_text())["invoices"]
        for ln in inv["lines"]
    }
    assert units["Virtual Machines – vm-tms-app01"] == "Hour"  # Microsoft's "1 Hour"


GROUPINGS = (
    "[vendor, service]",
    "[vendor, subscription]",
    "[vendor, sku]",
    "[vendor, service, subscription]",
    "[service, tag:user_project]",
)


@pytest.mark.slow  # a benchmark month generated and billed
def test_no_line_of_the_benchmark_month_reads_as_a_raw_id(tmp_path):
    import generate_month  # benchmarks/ (pyproject's pythonpath)

    month = generate_month.generate(
        tmp_path / "month", generate_month.shape_for("3000"), formats=("parquet",)
    )
    customers = month / "parameters" / "customers.yaml"
    # every line_grouping a customer can choose, customer by customer
    n = iter(range(10**6))
    customers.write_text(
        re.sub(
            r"^(    group: .*)$",
            lambda m: f"{m.group(1)}\n    line_grouping: {GROUPINGS[next(n) % len(GROUPINGS)]}",
            customers.read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        ),
        encoding="utf-8",
    )
    folder = run_all("2026-10", month / "reports-parquet", month / "parameters", tmp_path / "out")
    assert _problems_of_run(folder) == []


def test_invoices_json_written_before_the_shown_figures_reads_with_them(tmp_path):
    from billing_lib.invoices import invoice_from_record, invoice_record

    rows = [
        line(
            "C002",
            "450.50",
            vendor="microsoft",
            service="Microsoft Teams Enterprise",
            quantity="85",
            unit="Licenses",
            unit_price="5.3",
        ),
    ]
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "service"])
    record = invoice_record(inv)
    for ln in record["lines"]:
        del ln["display_quantity"], ln["display_unit_price"]
    again = invoice_from_record(record)
    assert [(ln.display_quantity, ln.display_unit_price) for ln in again.lines] == [
        (D(85), D("5.30"))
    ]
    assert again == inv


def test_the_keyed_lines_joined_to_their_texts_are_the_labelled_lines(tmp_path):
    # the workbooks label a share's lines in two queries (invoices.labelled_lines); they give
    # what labelled_sql gives in one
    from billing_lib.invoices import _label_inputs, labelled_lines
    from billing_lib.line_labels import labelled_sql

    rows = [
        line("C002", "10", vendor="microsoft", service="Microsoft 365 E3", subscription=GUID),
        line("C002", "20", vendor="microsoft", service="Microsoft 365 E3", subscription=GUID[:-1]),
        line("C002", "-3", service="Amazon EC2", subscription="i-0abc", charge_category="Credit"),
        line("C003", "4", service="Amazon EC2", source_row=3),
        line("C003", "5", service="Amazon S3", source_file="/srv/cur/2026-10.zip!cur/a.csv"),
        line("C003", "25", kind="fee", product_group="managed_services", description="Fee"),
    ]
    _, con, customers = _build(rows, tmp_path, ["vendor", "subscription"])
    invoicing = load_invoicing(REPO / "parameters", customers)
    ids = ["C002", "C003"]
    keyed, texts = labelled_lines(customers, invoicing, PERIOD, ids)
    columns = "customer_id, amount, source_file, vendor_name, line_key, line_credit, invoice_line"
    joined = con.execute(
        f"SELECT {columns} FROM ({keyed}) JOIN ({texts}) "
        "USING (customer_id, product_group, line_key, line_credit) ORDER BY ALL"
    ).fetchall()
    source, groupings, names = _label_inputs(customers, invoicing, PERIOD, ids)
    one_query = labelled_sql(source, groupings, None, names)
    assert joined == con.execute(f"SELECT {columns} FROM ({one_query}) ORDER BY ALL").fetchall()
    assert {r[2] for r in joined} == {"report.csv", "2026-10.zip!cur/a.csv", None}
    text = {r[1]: r[6] for r in joined}
    assert text[D(-3)].endswith(" – credit") and text[D(25)] == "Fee"
    assert text[D(10)] != text[D(20)]  # the same name, a short id apart


def test_a_vendor_text_with_tabs_newlines_or_only_spaces_reads_as_one_line(tmp_path):
    """A vendor's service name or description with a tab, a newline or a form feed printed as
    boxes in the PDF, was dropped from the UBL and escaped in the workbook; a blank one made an
    empty UBL item name (EN 16931 BR-25). The line's text is normalised once where it is made: a
    run of whitespace and control characters is one space, a blank name gives way to the next."""
    rows = [
        line("C001", "10", service="Amazon\nSimple Storage\tService "),
        line("C001", "20", service="   ", description="Data transfer\x0cout\x01", source_row=3),
        line("C001", "30", service="\t", description=" \n ", source_row=4),
        line("C001", "-1", service="Amazon\tEC2", charge_category="Credit", source_row=5),
    ]
    con, customers, invoicing = setup(rows)
    register = open_register(tmp_path / "register.sqlite")
    [inv] = build_invoices(con, customers, invoicing, PERIOD, register, ISSUED)
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == [
        ("Amazon EC2 – credit", D(-1)),
        ("Amazon Simple Storage Service", D(10)),
        ("Amazon Web Services", D(30)),
        ("Data transfer out", D(20)),
    ]


def test_lines_by_sku_without_a_sku_are_one_line_per_service_named_after_it(tmp_path):
    """With ``line_grouping: [vendor, sku]`` the lines without a SKU (a CUR 2.0's data transfer,
    storage and EC2 lines) of three services were one invoice line named after one of them
    ("Amazon Elastic Compute Cloud" for 1,398 EUR of data transfer and storage). Each service's
    lines without a SKU are a line of their own, named after it; a SKU two services share is
    named after the vendor, not after one of them."""

    def aws(amount, service, sku, description, row):
        return line("C002", amount, service=service, sku=sku, description=description,
                    source_row=row)  # fmt: skip

    rows = [
        aws("1", "Amazon Elastic Compute Cloud", None, "EC2 data processed", 2),
        aws("2", "Amazon Elastic Compute Cloud", None, "EC2 other", 3),
        aws("40", "AWS Data Transfer", None, "$0.09 per GB out", 4),
        aws("60", "AWS Data Transfer", None, "$0.085 per GB out", 5),
        aws("100", "Amazon Simple Storage Service", None, "S3 standard", 6),
        aws("200", "Amazon Simple Storage Service", None, "S3 requests", 7),
        aws("5", "Amazon Elastic Compute Cloud", "EU-BoxUsage:m5.large", "m5.large a", 8),
        aws("6", "Amazon Elastic Compute Cloud", "EU-BoxUsage:m5.large", "m5.large b", 9),
        aws("7", "Amazon Simple Storage Service", "SHARED", "shared a", 10),
        aws("8", "Amazon Glacier", "SHARED", "shared b", 11),
    ]
    [inv], con, customers = _build(rows, tmp_path, ["vendor", "sku"])
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == [
        ("AWS Data Transfer", D(100)),
        ("Amazon Elastic Compute Cloud", D(3)),
        ("Amazon Elastic Compute Cloud m5.large", D(11)),
        ("Amazon Simple Storage Service", D(300)),
        ("Amazon Web Services SHARED", D(15)),
    ]
    # the notebooks' rated-line table labels the same lines with the same texts
    names = {"aws": "Amazon Web Services"}
    df = rated_frame(con, {"C002": customers["C002"]}, vendor_names=names)
    assert dict(df.groupby("invoice_line_group")["amount"].sum()) == {
        ln.description: ln.amount for ln in inv.lines
    }


@pytest.mark.parametrize(
    ("grouping", "texts"),
    [
        (["vendor", "sku"], ["AWS Data Transfer", "Amazon Simple Storage Service"]),
        (["vendor", "service", "sku"], ["AWS Data Transfer", "Amazon Simple Storage Service"]),
    ],
)
def test_lines_by_sku_without_a_sku_of_one_description_are_named_after_their_service(
    tmp_path, grouping, texts
):
    """A service's lines without a SKU all of one description (the sample month's data transfer
    of C001: every line "$0.09 per GB - first 10 TB / month data transfer out") are one line per
    service, as docs/invoices-and-ledger.md names it: "AWS Data Transfer". It read as that
    description, the vendor's price in USD on an invoice in EUR; grouped by service and SKU it read
    "AWS Data Transfer / $0.09 per GB ...", and with two descriptions "Amazon Simple Storage
    Service / Amazon Simple Storage Service"."""

    def aws(amount, service, description, row):
        return line("C002", amount, service=service, sku=None, description=description,
                    source_row=row)  # fmt: skip

    rows = [
        aws("40", "AWS Data Transfer", "$0.09 per GB - first 10 TB / month data transfer out", 2),
        aws("60", "AWS Data Transfer", "$0.09 per GB - first 10 TB / month data transfer out", 3),
        aws("100", "Amazon Simple Storage Service", "S3 standard", 4),
        aws("200", "Amazon Simple Storage Service", "S3 requests", 5),
    ]
    [inv], _, _ = _build(rows, tmp_path, grouping)
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == list(
        zip(texts, [D(100), D(300)], strict=True)
    )


def test_lines_by_service_and_sku_name_a_product_once(tmp_path):
    """Grouped by ``[vendor, service, sku]``, a Microsoft SKU whose description is its product's
    name read "Exchange Online (Plan 1) / Exchange Online (Plan 1)"; a description that says more
    stays beside the name."""
    rows = [
        line("C002", "156.88", vendor="microsoft", service="Exchange Online (Plan 1)",
             sku="CFQ7TTC0LH16:0001", description="Exchange Online (Plan 1)"),
        line("C002", "0.88", vendor="microsoft", service="Storage", sku="DZH318Z0BPS6:0001",
             description="Storage - Hot LRS Data Stored", source_row=3),
    ]  # fmt: skip
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "service", "sku"])
    assert sorted(ln.description for ln in inv.lines) == [
        "Exchange Online (Plan 1)",
        "Storage / Storage - Hot LRS Data Stored",
    ]


@pytest.mark.parametrize("key", ["provider", "publisher"])
def test_lines_by_publisher_without_one_are_named_after_the_vendor_not_one_service(tmp_path, key):
    """Lines without a provider (publisher) of several services are one line, as the grouping
    asks; its text named whichever service DuckDB picked. It names the vendor, as the lines of
    an account of several services do (``[vendor, subscription]``)."""
    rows = [
        line("C002", "1", service="Amazon Elastic Compute Cloud"),
        line("C002", "2", service="Amazon Simple Storage Service", source_row=3),
        line("C002", "4", service="AWS Data Transfer", source_row=4),
        line("C002", "8", vendor="microsoft", service="Microsoft 365 E3", source_row=5,
             **{key: "Microsoft Corporation"}),
        line("C002", "16", vendor="microsoft", service="Teams Premium", source_row=6,
             **{key: "Microsoft Corporation"}),
        line("C002", "32", vendor="microsoft", service="Exchange Online", source_row=7),
    ]  # fmt: skip
    [inv], _, _ = _build(rows, tmp_path, ["vendor", key])
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == [
        ("Amazon Web Services", D(7)),
        ("Exchange Online", D(32)),  # one service: its name
        ("Microsoft Corporation", D(24)),
    ]


def test_a_fee_in_a_vendor_s_section_does_not_put_the_vendor_s_name_before_its_lines(tmp_path):
    """An allowance, fee or credit of the reseller in a vendor's product group (the
    azure-allowance offering gives back Azure in the microsoft section) counted as a second
    vendor of the section: every Microsoft line read "Microsoft / Bandwidth", "Microsoft /
    Microsoft 365 Business Standard". Only a section of two vendors' lines names the vendor."""
    rows = [
        line("C002", "25.67", vendor="microsoft", service="Bandwidth"),
        line("C002", "216.92", vendor="microsoft", service="Microsoft 365 Business Standard"),
        line(
            "C002",
            "-47.46",
            kind="allowance",
            product_group="microsoft",
            description="Azure included (EUR 50.00 a month, used EUR 47.46)",
        ),  # fmt: skip
    ]
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "service"])
    assert sorted(ln.description for ln in inv.lines) == [
        "Azure included (EUR 50.00 a month, used EUR 47.46)",
        "Bandwidth",
        "Microsoft 365 Business Standard",
    ]
    mixed = [
        *rows[:2],
        line("C002", "5", vendor="aws", service="Amazon EC2", product_group="microsoft"),
    ]
    [inv], _, _ = _build(mixed, tmp_path / "mixed", ["vendor", "service"])
    assert sorted(ln.description for ln in inv.lines) == [
        "Amazon Web Services / Amazon EC2",
        "Microsoft / Bandwidth",
        "Microsoft / Microsoft 365 Business Standard",
    ]


def test_a_microsoft_sku_is_named_after_its_services_not_its_bare_sku_number(tmp_path):
    """Grouped by ``[vendor, sku]``, the Azure plan's SKU DZH318Z0BPS6:0001, which Microsoft's
    usage of every Azure service carries, read "Microsoft 0001" on the sample month's invoices of
    C002, C004 and C006: the vendor's name and the SKU's short id, here Microsoft's bare SkuId.
    A SKU whose short id is only a number is named after its service, or its services."""

    def azure(amount, service, description, row, customer="C002"):
        return line(customer, amount, vendor="microsoft", service=service,
                    sku="DZH318Z0BPS6:0001", description=description, source_row=row)  # fmt: skip

    rows = [
        azure("142.98", "Virtual Machines", "Virtual Machines - Dsv5 Series - D4s v5", 2),
        azure("0.50", "Storage", "Storage - Hot LRS Data Stored", 3),
        azure("0.38", "Storage", "Storage - Hot LRS Write Operations", 4),
        line("C002", "5", vendor="microsoft", service="Virtual Machines", sku="DZH318Z0BPS6:0002",
             description="Virtual Machines - D2s v5", source_row=5),
        line("C002", "6", vendor="microsoft", service="Virtual Machines", sku="DZH318Z0BPS6:0002",
             description="Virtual Machines - D4s v5", source_row=6),
    ]  # fmt: skip
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "sku"])
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == [
        ("Storage, Virtual Machines", D("143.86")),
        ("Virtual Machines", D(11)),
    ]
    for ln in inv.lines:
        assert line_text_problems(ln.description, ln.display_quantity) == []


def test_an_aws_product_sku_is_no_part_of_a_line_s_name(tmp_path):
    """AWS's product/sku is an opaque code (DQ578CGN99KG6ECF): grouped by ``[vendor, sku]``, a
    SKU whose lines have several descriptions (usage a Savings Plan covers and its negation)
    read "Amazon Elastic Compute Cloud …99KG6ECF", a cut id. A SKU whose short id is cut (an
    opaque code of more than 12 characters) is named after its service, as one that is a bare
    number; a readable usage type ("m5.large") stays beside it."""

    def ec2(amount, sku, description, row):
        return line("C002", amount, service="Amazon Elastic Compute Cloud", sku=sku,
                    description=description, source_row=row)  # fmt: skip

    rows = [
        ec2("13.79", "DQ578CGN99KG6ECF", "Compute Savings Plans covered usage: m6i.xlarge", 2),
        ec2("0", "DQ578CGN99KG6ECF", "SavingsPlanNegation used by AccountId", 3),
        ec2("5", "EU-BoxUsage:m5.large", "m5.large a", 4),
        ec2("6", "EU-BoxUsage:m5.large", "m5.large b", 5),
    ]
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "sku"])
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == [
        ("Amazon Elastic Compute Cloud", D("13.79")),
        ("Amazon Elastic Compute Cloud m5.large", D(11)),
    ]


def test_lines_without_a_service_are_a_line_per_description_not_one_named_after_one(tmp_path):
    """FOCUS exports leave ServiceName empty on some charges (Microsoft's: reservation and savings
    plan purchases, rounding adjustments, MACC shortfall; a provider's tax-free fees). Grouped by
    vendor and service, all of them were one invoice line named after one of their descriptions,
    picked at random: a reservation, a savings plan and a rounding adjustment printed as one
    "Rounding adjustment" of 800.01. Without a service, each description is a line of its own."""

    def ms(amount, description, row, category="Purchase"):
        return line("C002", amount, vendor="microsoft", service=None, description=description,
                    charge_category=category, source_row=row)  # fmt: skip

    rows = [
        ms("500", "Reserved VM Instance, Standard_D2s_v5, West Europe, 1 Year", 2),
        ms("300", "Savings plan for compute, 1 Year", 3),
        ms("0.01", "Rounding adjustment", 4, "Adjustment"),
        ms("200", "Savings plan for compute, 1 Year", 5),
        line("C002", "50", vendor="microsoft", service="Virtual Machines", source_row=6),
    ]
    [inv], con, customers = _build(rows, tmp_path, ["vendor", "service"])
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == [
        ("Reserved VM Instance, Standard_D2s_v5, West Europe, 1 Year", D(500)),
        ("Rounding adjustment", D("0.01")),
        ("Savings plan for compute, 1 Year", D(500)),
        ("Virtual Machines", D(50)),
    ]


def test_a_credit_whose_text_says_credit_is_not_called_a_credit_twice(tmp_path):
    """A vendor credit line reads "<product> – credit". A FOCUS credit without a service is named
    by its description, which already says so (Azure's "Azure credit", a provider's "Promo
    credit"; a credit without a description by its category, "Credit"): the invoice printed
    "Azure credit – credit" and "Credit – credit"."""

    def credit(amount, description, service, row):
        return line("C002", amount, vendor="microsoft", service=service, description=description,
                    charge_category="Credit", source_row=row)  # fmt: skip

    rows = [
        credit("-40", "Azure credit", None, 2),
        credit("-2", "Credit", None, 3),
        credit("-7", "Exchange Online (Plan 1)", "Exchange Online (Plan 1)", 4),
        line("C002", "50", vendor="microsoft", service="Exchange Online (Plan 1)", source_row=5),
    ]
    [inv], _, _ = _build(rows, tmp_path, ["vendor", "service"])
    assert sorted((ln.description, ln.amount) for ln in inv.lines) == [
        ("Azure credit", D(-40)),
        ("Credit", D(-2)),
        ("Exchange Online (Plan 1)", D(50)),
        ("Exchange Online (Plan 1) – credit", D(-7)),
    ]
