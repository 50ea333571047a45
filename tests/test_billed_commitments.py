"""A Microsoft reservation paid up front that October billed as bought (the actual-cost export's
one-time purchase) and November as amortized cost (the amortized-cost export's covered usage and
unused hours) is refused (billing_lib.billed_commitments): November billed its share of a payment
October had billed whole, and nothing compared the months."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from billing_lib import run
from billing_lib.corrections import issue_credit_note
from billing_lib.errors import InputError, ParameterError, Problem
from billing_lib.reissue import reissue_invoice
from billing_lib.review import load_review_settings
from tests import cur2_sample as cur2
from tests.notebook_project import REPO

DATA = REPO / "tests" / "data" / "azure-cost-details"
#: Van Leeuwen's reservation order (C002), bought in the actual-cost export's row 5.
ORDER = "2f6b8c1d-4e3a-4b5c-9d7e-8f0a1b2c3d4e"


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _write(folder: Path, name: str, rows: list[list[str]]) -> Path:
    folder.mkdir()
    with open(folder / name, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return folder


def _october(tmp_path: Path, frequency: str) -> Path:
    """The partner actual-cost export's pay-as-you-go line (row 2), the usage the reservation
    covers at 0 (row 4) and its purchase (row 5, EUR 63.48) paid ``frequency``."""
    rows = _rows(DATA / "mpa-actual-cost-2026-10.csv")
    rows[4][rows[0].index("frequency")] = frequency
    return _write(tmp_path / "r10", "mpa-actual-cost-2026-10.csv", [rows[0], *rows[1:5:2], rows[4]])


def _november(tmp_path: Path) -> Path:
    """The partner amortized-cost export's first four rows a month later: pay-as-you-go usage,
    the reservation's covered usage at its share (2.0477420352), an unused line at 0 and 3
    unused hours (0.2559677544)."""
    rows = _rows(DATA / "mpa-amortized-cost-2026-10.csv")
    moved = [[v.replace("10/31/2026", "11/30/2026").replace("10/", "11/") for v in r] for r in rows]
    return _write(tmp_path / "r11", "mpa-amortized-cost-2026-11.csv", [rows[0], *moved[1:5]])


def _parameters(tmp_path: Path) -> Path:
    """The sample parameters with November's USD->EUR rate, so both months bill."""
    params = Path(shutil.copytree(REPO / "parameters", tmp_path / "parameters"))
    with open(params / "exchange_rates.csv", "a", encoding="utf-8") as fh:
        fh.write("USD,EUR,0.9200,2026-11-01,2026-11-30,ECB 2026-10-31\n")
    return params


def _november_refused(november: Path, params: Path, out: Path, start: str) -> Problem:
    """The one problem of November's run refused for an order October billed in the other view:
    the message begins with ``start``, the problem names the column, nothing is published."""
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", november, params, out)
    assert str(err.value).startswith(start), str(err.value)
    [problem] = err.value.problems
    assert problem.column == "CommitmentDiscountId"
    assert not (out / "2026-11").exists()
    return problem


def test_a_reservation_bought_up_front_in_one_month_and_amortised_in_the_next_is_refused(
    tmp_path,
):
    params, out = _parameters(tmp_path), tmp_path / "out"
    october, november = _october(tmp_path, "OneTime"), _november(tmp_path)
    manifest = json.loads(
        (run.run_all("2026-10", october, params, out) / "manifest.json").read_text()
    )
    assert manifest["commitments"] == [
        {
            "order": ORDER,
            "view": "bought",
            "customer_id": "C002",
            "file": "mpa-actual-cost-2026-10.csv",
            "row": 4,
            "lines": 1,
            "cost": "63.48",
            "currency": "EUR",
        }
    ]
    problem = _november_refused(
        november,
        params,
        out,
        "the reports of 2026-11 bill 1 Microsoft reservation or savings plan order(s) that the "
        "run of 2026-10 billed already in the other view",
    )
    assert (problem.file, problem.row) == ("mpa-amortized-cost-2026-11.csv", 3)
    assert problem.value == (
        f"the reservation or savings plan order {ORDER} (amortised: 2 line(s), EUR 2.3037097896) "
        f"that the run of 2026-10 ({out / '2026-10'}) billed as bought up front from "
        "mpa-actual-cost-2026-10.csv, row 4 (EUR 63.48)"
    )


def test_the_amortised_month_published_first_refuses_the_up_front_purchase(tmp_path):
    params, out = _parameters(tmp_path), tmp_path / "out"
    october, november = _october(tmp_path, "OneTime"), _november(tmp_path)
    run.run_all("2026-11", november, params, out)
    with pytest.raises(InputError) as err:
        run.run_all("2026-10", october, params, out)
    [problem] = err.value.problems
    assert (problem.file, problem.row) == ("mpa-actual-cost-2026-10.csv", 4)
    assert "billed as amortized cost from mpa-amortized-cost-2026-11.csv, row 3" in problem.value
    assert not (out / "2026-10").exists()


def test_a_reservation_paid_monthly_is_billed_as_bought_in_one_month_and_amortised_in_the_next(
    tmp_path,
):
    """Paid monthly (Recurring), October's payment is October's: November's amortized share is
    November's payment, billed once."""
    params, out = _parameters(tmp_path), tmp_path / "out"
    run.run_all("2026-10", _october(tmp_path, "Recurring"), params, out)
    folder = run.run_all("2026-11", _november(tmp_path), params, out)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(c["order"], c["view"], c["lines"]) for c in manifest["commitments"]] == [
        (ORDER, "amortised", 2)
    ]


def _without_benefit_columns(folder: Path) -> Path:
    """The export in ``folder`` as a layout older than benefitId writes it (no benefitId,
    benefitName), its reservation's ids as Microsoft documents them ("Reconcile reservation
    purchases with usage records", understand-usage-details-fields): the purchase carries its order
    as productOrderId and stamps it as reservationId too; covered usage and unused hours carry the
    order as productOrderId, and as reservationId the reservation within the order."""
    [path] = folder.iterdir()
    rows = _rows(path)
    header = rows[0]
    col = {c: header.index(c) for c in ("chargeType", "reservationId", "productOrderId")}
    for row in rows[1:]:
        if row[col["reservationId"]]:
            row[col["productOrderId"]] = ORDER
            if row[col["chargeType"]] == "Purchase":
                row[col["reservationId"]] = ORDER
    keep = [i for i, c in enumerate(header) if c not in ("benefitId", "benefitName")]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([[r[i] for i in keep] for r in rows])
    return folder


def test_an_older_layout_s_reservation_bought_up_front_then_amortised_is_refused(tmp_path):
    """Without benefitId, November's amortized lines were marked with their reservationId, the
    reservation within the order, and October's purchase with the order (productOrderId): the
    runs' commitments shared no order, and November billed its share of the payment October had
    billed whole."""
    params, out = _parameters(tmp_path), tmp_path / "out"
    october = _without_benefit_columns(_october(tmp_path, "OneTime"))
    november = _without_benefit_columns(_november(tmp_path))
    run.run_all("2026-10", october, params, out)
    problem = _november_refused(
        november,
        params,
        out,
        "the reports of 2026-11 bill 1 Microsoft reservation or savings plan order(s) that the "
        "run of 2026-10 billed already in the other view",
    )
    assert (problem.file, problem.row) == ("mpa-amortized-cost-2026-11.csv", 3)
    assert problem.value.startswith(f"the reservation or savings plan order {ORDER} (amortised")


def _cur2_month(folder: Path, month: str, rows: list[tuple[str, str, dict[str, str]]]) -> Path:
    """A CUR 2.0 CSV of ``month`` (``2026-10``) for Dijkstra's account (C001, plan smb): one row
    per (line item type, unblended cost, more columns), each on the month's 2nd day."""
    nxt = "2026-11" if month == "2026-10" else "2026-12"
    base = cur2.records()[0]
    records = [
        base
        | {
            "identity_line_item_id": f"{month}-li-{i}",
            "identity_time_interval": f"{month}-02T00:00:00Z/{month}-03T00:00:00Z",
            "bill_billing_period_start_date": f"{month}-01T00:00:00Z",
            "bill_billing_period_end_date": f"{nxt}-01T00:00:00Z",
            "bill_invoice_id": f"EUINNL{month[2:4]}-{month[5:]}0001",
            "bill_payer_account_id": "402719385610",
            "line_item_usage_account_id": "402719385610",
            "line_item_usage_start_date": f"{month}-02T00:00:00Z",
            "line_item_usage_end_date": f"{month}-03T00:00:00Z",
            "line_item_line_item_type": kind,
            "line_item_unblended_cost": cost,
            "line_item_usage_amount": "24",
            "savings_plan_savings_plan_a_r_n": cur2.SP_ARN,
        }
        | more
        for i, (kind, cost, more) in enumerate(rows)
    ]
    folder.mkdir()
    cur2.write_csv(folder / f"cur2-northwind-{month}-00001.csv", records)
    return folder


def _amortised_from_november(tmp_path: Path) -> Path:
    """The sample parameters (``_parameters``) with C001's AWS priced on its amortised cost
    (EffectiveCost) from 1 November, on BilledCost before (the smb plan)."""
    params = _parameters(tmp_path)
    plans = params / "price_plans.yaml"
    plans.write_text(
        plans.read_text(encoding="utf-8").replace(
            "      - {id: aws-refunds,",
            "      - {id: c001-aws-amortised, kind: markup, percent: 12, basis: EffectiveCost,\n"
            "         match: {customer: C001, vendor: aws}, valid_from: 2026-11-01}\n"
            "      - {id: aws-refunds,",
            1,
        ),
        encoding="utf-8",
    )
    return params


#: A plain EC2 day of Dijkstra's (not covered by the Savings Plan).
PLAIN = ("Usage", "0.9984", {"savings_plan_savings_plan_a_r_n": ""})


def _sp_october(tmp_path: Path) -> Path:
    """Dijkstra's October: a plain EC2 day and its all-upfront Compute Savings Plan bought on
    2 October (SavingsPlanUpfrontFee, USD 876.00)."""
    fee = {
        "line_item_usage_amount": "1",
        "line_item_product_code": "ComputeSavingsPlans",
        "product": json.dumps(cur2.PRODUCTS["ComputeSavingsPlans"]),
        "pricing_unit": "",
    }
    return _cur2_month(
        tmp_path / "c10", "2026-10", [PLAIN, ("SavingsPlanUpfrontFee", "876.00", fee)]
    )


def _sp_november(tmp_path: Path, *more: tuple[str, str, dict[str, str]]) -> Path:
    """Dijkstra's November: the EC2 usage the plan covers (USD 0.9984, its amortised cost
    0.6240) and its negation, then ``more`` rows."""
    return _cur2_month(
        tmp_path / "c11",
        "2026-11",
        [
            (
                "SavingsPlanCoveredUsage",
                "0.9984",
                {"savings_plan_savings_plan_effective_cost": "0.6240"},
            ),
            ("SavingsPlanNegation", "-0.9984", {}),
            *more,
        ],
    )


def test_an_aws_savings_plan_bought_up_front_then_billed_amortised_next_month_is_refused(
    tmp_path,
):
    """Dijkstra's all-upfront Compute Savings Plan, bought on 2 October (USD 876.00, billed on
    BilledCost by the smb plan), covers its EC2 usage in November, which a rule of C001's from
    1 November prices on the amortised cost (EffectiveCost, the plan's upfront share 0.6240):
    November billed a share of the payment October had billed whole, without a word (the
    cross-month check read Microsoft orders only)."""
    params, out = _amortised_from_november(tmp_path), tmp_path / "out"
    october, november = _sp_october(tmp_path), _sp_november(tmp_path)
    manifest = json.loads(
        (run.run_all("2026-10", october, params, out) / "manifest.json").read_text()
    )
    assert manifest["commitments"] == [
        {
            "order": cur2.SP_ARN.lower(),
            "view": "bought",
            "customer_id": "C001",
            "file": "cur2-northwind-2026-10-00001.csv",
            "row": 3,
            "lines": 1,
            "cost": "876",
            "currency": "USD",
        }
    ]
    problem = _november_refused(
        november,
        params,
        out,
        "the reports of 2026-11 bill 1 reservation or savings plan order(s) (AWS: a Savings "
        "Plan's or reserved instance's ARN) that the run of 2026-10 billed already in the other "
        "view: an upfront fee priced on its BilledCost is billed whole",
    )
    assert (problem.file, problem.row) == ("cur2-northwind-2026-11-00001.csv", 2)
    assert problem.value == (
        f"the reservation or savings plan order {cur2.SP_ARN.lower()} (amortised: 1 line(s), "
        f"USD 0.624) that the run of 2026-10 ({out / '2026-10'}) billed as bought up front "
        "from cur2-northwind-2026-10-00001.csv, row 3 (USD 876)"
    )


def test_an_aws_reservation_bought_up_front_then_billed_amortised_next_month_is_refused(
    tmp_path,
):
    """The same for an all-upfront reserved instance: its upfront fee (a Fee line with the
    reservation's ARN, USD 1000.00) billed in October, the hours it covers in November
    (DiscountedUsage, cost 0) at their amortised cost (reservation_effective_cost 0.624)."""
    params, out = _amortised_from_november(tmp_path), tmp_path / "out"
    ri = {"savings_plan_savings_plan_a_r_n": "", "reservation_reservation_a_r_n": cur2.RI_ARN}
    october = _cur2_month(
        tmp_path / "c10", "2026-10", [("Fee", "1000.00", ri | {"line_item_usage_amount": "1"})]
    )
    november = _cur2_month(
        tmp_path / "c11",
        "2026-11",
        [("DiscountedUsage", "0", ri | {"reservation_effective_cost": "0.624"})],
    )
    run.run_all("2026-10", october, params, out)
    problem = _november_refused(november, params, out, "the reports of 2026-11 bill 1 ")
    assert (problem.file, problem.row) == ("cur2-northwind-2026-11-00001.csv", 2)
    assert problem.value == (
        f"the reservation or savings plan order {cur2.RI_ARN.lower()} (amortised: 1 line(s), "
        f"USD 0.624) that the run of 2026-10 ({out / '2026-10'}) billed as bought up front "
        "from cur2-northwind-2026-10-00001.csv, row 2 (USD 1000)"
    )


FOCUS_HEADER = (
    "BilledCost,BillingAccountId,BillingCurrency,BillingPeriodStart,BillingPeriodEnd,"
    "ChargeCategory,ChargeFrequency,ChargePeriodStart,ChargePeriodEnd,CommitmentDiscountId,"
    "EffectiveCost,ProviderName,ServiceName,SubAccountId\n"
)


def _focus_month(folder: Path, month: str, rows: list[tuple[str, str, str, str]]) -> Path:
    """A FOCUS export of ``month`` for Dijkstra's AWS account (C001, plan smb): one row per
    (ChargeCategory, ChargeFrequency, BilledCost, EffectiveCost), each on the month's 2nd day,
    naming the commitment ``order`` (empty: none)."""
    nxt = "2026-11" if month == "2026-10" else "2026-12"
    folder.mkdir()
    lines = [
        f"{billed},402719385610,USD,{month}-01T00:00:00Z,{nxt}-01T00:00:00Z,{category},"
        f"{frequency},{month}-02T00:00:00Z,{month}-03T00:00:00Z,{{order}},{effective},AWS,"
        f"Amazon Elastic Compute Cloud,402719385610\n"
        for category, frequency, billed, effective in rows
    ]
    (folder / f"focus-{month}.csv").write_text(FOCUS_HEADER + "".join(lines), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "order, named",
    [(cur2.SP_ARN, cur2.SP_ARN.lower()), ("", "aws billing account 402719385610")],
    ids=["commitment-named", "none-named"],
)
def test_a_focus_commitment_bought_up_front_then_billed_amortised_next_month_is_refused(
    tmp_path, order, named
):
    """A FOCUS export's commitment paid up front (Purchase, One-Time, USD 876.00 billed, its
    EffectiveCost 0) billed on BilledCost in October, and the usage it covers in November
    (billed 0, amortised 0.6240) priced on EffectiveCost by C001's rule from 1 November: the
    cross-month check read the Microsoft cost exports and the AWS CURs only, so November billed
    a share of a payment October billed whole. A commitment the lines do not name (FOCUS makes
    CommitmentDiscountId optional: a SaaS spend agreement) is the billing account's."""
    params, out = _amortised_from_november(tmp_path), tmp_path / "out"
    october = _focus_month(
        tmp_path / "f10",
        "2026-10",
        [("Usage", "Usage-Based", "0.9984", "0.9984"), ("Purchase", "One-Time", "876.00", "0")],
    )
    november = _focus_month(
        tmp_path / "f11",
        "2026-11",
        [("Usage", "Usage-Based", "0", "0.6240"), ("Usage", "Usage-Based", "0.50", "0.50")],
    )
    for folder in (october, november):
        csv_file = next(folder.iterdir())
        csv_file.write_text(csv_file.read_text().replace("{order}", order), encoding="utf-8")
    manifest = json.loads(
        (run.run_all("2026-10", october, params, out) / "manifest.json").read_text()
    )
    assert manifest["commitments"] == [
        {
            "order": named,
            "view": "bought",
            "customer_id": "C001",
            "file": "focus-2026-10.csv",
            "row": 3,
            "lines": 1,
            "cost": "876",
            "currency": "USD",
        }
    ]
    problem = _november_refused(
        november,
        params,
        out,
        "the reports of 2026-11 bill 1 commitment(s) (FOCUS: the CommitmentDiscountId, or the "
        "billing account of a commitment no line names) that the run of 2026-10 billed already "
        "in the other view",
    )
    assert (problem.file, problem.row) == ("focus-2026-11.csv", 2)
    assert problem.value == (
        f"the reservation or savings plan order {named} (amortised: 1 line(s), USD 0.624) that "
        f"the run of 2026-10 ({out / '2026-10'}) billed as bought up front from "
        "focus-2026-10.csv, row 3 (USD 876)"
    )


def _invoice_of(folder: Path, customer: str) -> str:
    """The number of ``customer``'s invoice in the run folder ``folder``."""
    invoices = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["invoices"]
    [number] = [i["invoice_number"] for i in invoices if i["customer_id"] == customer]
    return number


def test_a_reissue_billing_amortised_what_another_month_bought_up_front_is_refused(tmp_path):
    """October billed Dijkstra's Savings Plan bought up front (USD 876.00), November its covered
    usage on BilledCost (net 0): billed once. November's invoice credited and reissued with
    C001's rule pricing it on its amortised cost from 1 November billed the plan's share a second
    time: ``billing reissue`` rates the month in a scratch folder beside no other month, and
    never compared its commitments with the other months' (a run does after rating)."""
    billed = _parameters(tmp_path / "billed")
    amortised = _amortised_from_november(tmp_path / "amortised")
    out = tmp_path / "out"
    november = _sp_november(tmp_path, PLAIN)
    run.run_all("2026-10", _sp_october(tmp_path), billed, out, finalise=True)
    number = _invoice_of(run.run_all("2026-11", november, billed, out, finalise=True), "C001")
    issue_credit_note(out, number, reason="the Savings Plan's usage at its amortised cost")
    with pytest.raises(InputError) as err:
        reissue_invoice(out, number, amortised, november)
    assert str(err.value).startswith(
        "the new invoices of 2026-11 would bill 1 reservation or savings plan order(s) (AWS: a "
        "Savings Plan's or reserved instance's ARN) that the run of 2026-10 billed already in "
        "the other view"
    ), str(err.value)
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (
        "cur2-northwind-2026-11-00001.csv",
        2,
        "CommitmentDiscountId",
    )
    assert "billed as bought up front from cur2-northwind-2026-10-00001.csv, row 3" in (
        problem.value
    )
    # nothing issued: the credit note's folder alone
    assert len([p for p in (out / "corrections").iterdir() if not p.name.startswith(".")]) == 1


def test_a_month_amortising_what_a_reissued_invoice_bought_up_front_is_refused(tmp_path):
    """October's invoice credited and reissued still bills the Savings Plan bought up front; its
    run's manifest no longer counts for C001 (the credit note cancelled that invoice), and the
    reissued invoice's manifest listed no commitments: November billing the plan's usage on its
    amortised cost passed. The reissue's manifest lists the commitments it bills as a run's
    does, and the other months compare theirs with them."""
    params, out = _amortised_from_november(tmp_path), tmp_path / "out"
    october = _sp_october(tmp_path)
    number = _invoice_of(run.run_all("2026-10", october, params, out, finalise=True), "C001")
    issue_credit_note(out, number, reason="the address")
    done = reissue_invoice(out, number, params, october)
    listed = json.loads((done.folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(c["order"], c["view"], c["customer_id"], c["row"]) for c in listed["commitments"]] == [
        (cur2.SP_ARN.lower(), "bought", "C001", 3)
    ]
    problem = _november_refused(
        _sp_november(tmp_path), params, out, "the reports of 2026-11 bill 1 reservation"
    )
    assert "billed as bought up front from cur2-northwind-2026-10-00001.csv, row 3" in (
        problem.value
    )


def _published_before_commitments(folder: Path) -> Path:
    """The run folder ``folder`` as a run published before manifests listed the commitments it
    billed: its ``manifest.json`` without ``commitments``."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["commitments"]
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


#: The start of the refusal of November's run beside October's run of an older manifest.
NOT_KNOWN = (
    "the reports of 2026-11 bill 1 commitment(s) (reservations, savings plans) that the run of "
    "2026-10 may have billed in the other view: it was published before run manifests listed "
    "the commitments billed"
)


def test_a_run_published_before_manifests_listed_commitments_is_not_taken_for_billing_none(
    tmp_path,
):
    """October billed the reservation bought up front, but its run was published before
    manifests listed commitments: the check read it as billing none, and November billed the
    amortized share of the payment October had billed whole, without a word. Its rated lines
    keep no order id, so its commitments are not known: November is refused, naming October's
    run folder and the way out."""
    params, out = _parameters(tmp_path), tmp_path / "out"
    october, november = _october(tmp_path, "OneTime"), _november(tmp_path)
    _published_before_commitments(run.run_all("2026-10", october, params, out))
    problem = _november_refused(november, params, out, NOT_KNOWN)
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", november, params, out)
    assert f"({out / '2026-10'})" in str(err.value)
    assert "commitments_checked: [2026-10]" in str(err.value)
    assert (problem.file, problem.row) == ("mpa-amortized-cost-2026-11.csv", 3)
    assert problem.value.startswith(f"the reservation or savings plan order {ORDER} (amortised")
    assert f"not compared with the run of 2026-10 ({out / '2026-10'})" in problem.value


def test_an_older_month_stated_checked_in_review_yaml_lets_the_run_bill(tmp_path):
    """October's reservation paid monthly (Recurring): November's amortized share is its own
    payment. October's older manifest lists no commitments, so November is refused until the
    analyst, having checked October's invoices, states it in ``review.yaml``
    (``commitments_checked``). November's manifest records the months let through uncompared
    because stated checked (``commitments_waived_as_checked``): October, not September, which
    has no run folder to waive, nor December, a month after it."""
    params, out = _parameters(tmp_path), tmp_path / "out"
    october, november = _october(tmp_path, "Recurring"), _november(tmp_path)
    _published_before_commitments(run.run_all("2026-10", october, params, out))
    _november_refused(november, params, out, NOT_KNOWN)
    with open(params / "review.yaml", "a", encoding="utf-8") as fh:
        fh.write("commitments_checked: [2026-12, 2026-10, 2026-09]\n")
    folder = run.run_all("2026-11", november, params, out)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(c["order"], c["view"]) for c in manifest["commitments"]] == [(ORDER, "amortised")]
    assert manifest["commitments_waived_as_checked"] == ["2026-10"]


def test_an_older_run_billing_no_purchase_bought_no_commitment_up_front(tmp_path):
    """Every view of a commitment bought up front is a Purchase line (Microsoft's, FOCUS's, an
    AWS upfront fee), which the rated lines keep: an older run whose rated lines bill none
    bought none, and November's amortised lines are read without a word."""
    params, out = _parameters(tmp_path), tmp_path / "out"
    rows = _rows(DATA / "mpa-actual-cost-2026-10.csv")
    october = _write(tmp_path / "r10", "mpa-actual-cost-2026-10.csv", [rows[0], *rows[1:5:2]])
    _published_before_commitments(run.run_all("2026-10", october, params, out))
    november = _november(tmp_path)
    folder = run.run_all("2026-11", november, params, out)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(c["order"], c["view"]) for c in manifest["commitments"]] == [(ORDER, "amortised")]
    assert manifest["commitments_waived_as_checked"] == []
    # stated checked as well, run again: known to have bought none, so nothing was waived
    with open(params / "review.yaml", "a", encoding="utf-8") as fh:
        fh.write("commitments_checked: [2026-10]\n")
    folder = run.run_all("2026-11", november, params, out)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["commitments_waived_as_checked"] == []


def test_commitments_checked_must_be_months(tmp_path):
    """A misspelt month in ``commitments_checked`` is refused, not compared with no run."""
    (tmp_path / "review.yaml").write_text("commitments_checked: [2026-13]\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="expected a month YYYY-MM, e.g. 2026-10"):
        load_review_settings(tmp_path)


def test_a_reissue_beside_a_run_published_before_manifests_listed_commitments_is_refused(
    tmp_path,
):
    """``billing reissue`` alike: November's invoice reissued with C001's usage on its amortised
    cost, beside October's run of an older manifest that bought the Savings Plan up front, is
    refused naming October's run folder, nothing issued."""
    billed = _parameters(tmp_path / "billed")
    amortised = _amortised_from_november(tmp_path / "amortised")
    out = tmp_path / "out"
    november = _sp_november(tmp_path, PLAIN)
    october = run.run_all("2026-10", _sp_october(tmp_path), billed, out, finalise=True)
    _published_before_commitments(october)
    number = _invoice_of(run.run_all("2026-11", november, billed, out, finalise=True), "C001")
    issue_credit_note(out, number, reason="the Savings Plan's usage at its amortised cost")
    with pytest.raises(InputError) as err:
        reissue_invoice(out, number, amortised, november)
    assert str(err.value).startswith(
        "the new invoices of 2026-11 would bill 1 commitment(s) (reservations, savings plans) "
        f"that the run of 2026-10 may have billed in the other view: it was published before "
        f"run manifests listed the commitments billed (its manifest.json has no commitments: "
        f"2026-10 ({out / '2026-10'}))"
    ), str(err.value)
    assert len([p for p in (out / "corrections").iterdir() if not p.name.startswith(".")]) == 1
    # stated checked: issued, its manifest recording October let through uncompared
    with open(amortised / "review.yaml", "a", encoding="utf-8") as fh:
        fh.write("commitments_checked: [2026-10]\n")
    done = reissue_invoice(out, number, amortised, november)
    listed = json.loads((done.folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(c["view"], c["customer_id"]) for c in listed["commitments"]] == [("amortised", "C001")]
    assert listed["commitments_waived_as_checked"] == ["2026-10"]


def test_a_reissued_invoice_s_older_manifest_is_named_and_the_credited_run_is_not(tmp_path):
    """October's invoice credited and reissued, both manifests without ``commitments``: the
    run's one customer is credited, so its rated lines bill no Purchase now; the reissued
    invoice's do, and November amortising is refused naming the reissued invoice's folder."""
    params, out = _amortised_from_november(tmp_path), tmp_path / "out"
    october = _sp_october(tmp_path)
    folder = run.run_all("2026-10", october, params, out, finalise=True)
    number = _invoice_of(folder, "C001")
    issue_credit_note(out, number, reason="the address")
    done = reissue_invoice(out, number, params, october)
    _published_before_commitments(folder)
    _published_before_commitments(done.folder)
    with pytest.raises(InputError) as err:
        run.run_all("2026-11", _sp_november(tmp_path), params, out)
    assert f"its manifest.json has no commitments: 2026-10 ({done.folder}))" in str(err.value)
    assert f"({folder})" not in str(err.value)
