"""Azure locations in every spelling Microsoft writes them are one region: the programmatic name
(``westeurope``), at import in every Microsoft format and FOCUS from Azure (SQL, the macro
``_azure_region``) and in a price-plan rule's ``region`` (Python, ``azure_regions.azure_region``),
so ``region: West Europe`` matches lines written ``westeurope``, ``West Europe`` or ``EU West``
(docs/pricing.md, "A markup by region"; docs/formats.md)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest
from rating_helpers import ACCOUNTS, rated_store, write_parameters

from billing_lib.azure_regions import (
    AZURE_REGION_MACRO,
    LEGACY_LOCATIONS,
    REGIONS,
    azure_region,
)
from billing_lib.importers import import_reports
from billing_lib.rating import rate_lines
from billing_lib.store import open_store
from tests.sample_totals import SAMPLES

REPO = Path(__file__).resolve().parent.parent
USAGE = REPO / "samples" / "2026-10" / "reports" / "ms-daily-rated-usage-G052026103.csv"
MPA = REPO / "tests" / "data" / "azure-cost-details" / "mpa-actual-cost-2026-10.csv"
EA = SAMPLES / "azure-ea" / "ea-actual-cost-small-2023-09.csv"

#: Legacy names of the EA and partner usage files (MeterRegion, an old ResourceLocation) and
#: the region each is (Microsoft FinOps toolkit, open data Regions.csv).
LEGACY = {
    "EU West": "westeurope",
    "EU North": "northeurope",
    "US East": "eastus",
    "US East 2": "eastus2",
    "US West": "westus",
    "US West 2": "westus2",
    "US Central": "centralus",
    "US North Central": "northcentralus",
    "US South Central": "southcentralus",
    "US West Central": "westcentralus",
    "AP East": "eastasia",
    "AP Southeast": "southeastasia",
    "JA East": "japaneast",
    "JA West": "japanwest",
    "UK South": "uksouth",
    "UK West": "ukwest",
    "AU East": "australiaeast",
    "AU Southeast": "australiasoutheast",
    "BR South": "brazilsouth",
    "CA Central": "canadacentral",
    "CA East": "canadaeast",
    "IN Central": "centralindia",
    "IN South": "southindia",
    "IN West": "westindia",
    "KR Central": "koreacentral",
    "KR South": "koreasouth",
    "FR Central": "francecentral",
    "DE West Central": "germanywestcentral",
    "CH North": "switzerlandnorth",
    "NO East": "norwayeast",
    "SE Central": "swedencentral",
    "US Gov Virginia": "usgovvirginia",
}
OTHER_SPELLINGS = {
    "westeurope": "westeurope",  # cost details, FOCUS RegionId
    "West Europe": "westeurope",  # the display name, FOCUS RegionName
    "WESTEUROPE": "westeurope",
    "WestEurope": "westeurope",
    " West Europe ": "westeurope",
    "East US 2": "eastus2",
    "EastUS2": "eastus2",  # the EA sample's ResourceLocation
    "SouthCentralUS": "southcentralus",
    "USGov Virginia": "usgovvirginia",
    # unknown: kept, in lower case without spaces (a new region never stops a run)
    "Zone 1": "zone1",
    "Atlantis Central": "atlantiscentral",
    "atlantiscentral": "atlantiscentral",
    # AWS's region codes, a VMware data centre: as they are where nothing is to be done
    "eu-central-1": "eu-central-1",
    "": "",
}


@pytest.mark.parametrize("spelling, region", [*LEGACY.items(), *OTHER_SPELLINGS.items()], ids=repr)
def test_an_azure_location_in_any_spelling_is_its_programmatic_name(spelling, region):
    assert azure_region(spelling) == region


def test_every_display_name_is_its_name_and_every_legacy_name_a_region():
    """The display names need no entry of the table: lower case without spaces is the name
    (West Europe, East US 2, Germany West Central, USGov Virginia). Each legacy name maps to a
    region of the list, and no legacy name is left to that rule by mistake."""
    for name, display in REGIONS.items():
        assert azure_region(display) == name, display
        assert azure_region(display.upper()) == name, display
    assert set(LEGACY_LOCATIONS.values()) <= set(REGIONS)
    for legacy, name in LEGACY_LOCATIONS.items():
        assert legacy == legacy.lower().strip() and legacy.replace(" ", "") != name, legacy


def test_the_sql_macro_gives_what_python_gives():
    con = duckdb.connect()
    con.execute(AZURE_REGION_MACRO)
    spellings = [
        *LEGACY,
        *OTHER_SPELLINGS,
        *REGIONS.values(),
        *REGIONS,
        *(k.upper() for k in LEGACY_LOCATIONS),
    ]
    got = con.execute(
        "SELECT s, _azure_region(s) FROM unnest(?::VARCHAR[]) t(s)", [spellings]
    ).fetchall()
    assert {s: r for s, r in got} == {s: azure_region(s) for s in spellings}
    assert con.execute("SELECT _azure_region(NULL::VARCHAR)").fetchone() == (None,)


# -- at import -----------------------------------------------------------------------------------


def _regions(paths: list[Path], order: str = "x_SourceFile, x_SourceRow") -> list[str | None]:
    con = open_store()
    import_reports(con, paths)
    return [r[0] for r in con.execute(f"SELECT RegionId FROM lines ORDER BY {order}").fetchall()]


def _rewritten(src: Path, out: Path, changes: list[dict[str, str]]) -> Path:
    """The first ``len(changes)`` records of ``src`` with ``changes`` applied, as ``out``."""
    with open(src, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header, lineterminator="\n")
        w.writeheader()
        w.writerows(dict(row, **change) for row, change in zip(rows, changes, strict=False))
    return out


def test_the_daily_rated_usage_file_s_locations_are_region_names(tmp_path):
    """ResourceLocation, else MeterRegion (a legacy name, "EU West")."""
    path = _rewritten(
        USAGE,
        tmp_path / "daily.csv",
        [
            {"ResourceLocation": "West Europe"},
            {"ResourceLocation": "WESTEUROPE"},
            {"ResourceLocation": "", "MeterRegion": "EU West"},
            {"ResourceLocation": "", "MeterRegion": "US East 2"},
            {"ResourceLocation": "westeurope"},
        ],
    )
    assert _regions([path]) == ["westeurope"] * 3 + ["eastus2", "westeurope"]


def test_the_cost_exports_locations_are_region_names(tmp_path):
    """The EA export's ResourceLocation in Pascal case (EastUS2, SouthCentralUS), the partner
    export's location where a line has no resourceLocation (EU West)."""
    assert _regions([EA], "x_SourceRow") == [
        "uksouth",
        "eastus2",
        "westus",
        "southcentralus",
        "westus2",
        "eastus",
        None,
        "ukwest",
        "westus2",
        "centralus",
        "centralus",
    ]
    path = _rewritten(
        MPA,
        tmp_path / "mpa.csv",
        [{"resourceLocation": "", "location": "EU West"}, {"resourceLocation": "West Europe"}],
    )
    assert _regions([path]) == ["westeurope", "westeurope"]


def test_a_focus_export_s_azure_regions_are_region_names_and_others_kept(tmp_path):
    path = tmp_path / "focus.csv"
    path.write_text(
        "BilledCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,"
        "ProviderName,SubAccountId,RegionId\n"
        "1,EUR,Usage,2026-10-01,2026-10-02,Microsoft,s1,West Europe\n"
        "1,EUR,Usage,2026-10-01,2026-10-02,Microsoft,s1,EU West\n"
        "1,EUR,Usage,2026-10-01,2026-10-02,Microsoft,s1,westeurope\n"
        "1,EUR,Usage,2026-10-01,2026-10-02,AWS,111122223333,eu-central-1\n"
        "1,EUR,Usage,2026-10-01,2026-10-02,Acme SaaS,s5,EU West\n",
        encoding="utf-8",
    )
    assert _regions([path]) == ["westeurope"] * 3 + ["eu-central-1", "EU West"]


# -- in the rating -------------------------------------------------------------------------------

#: The tenant of the partner export's first lines (Van Leeuwen Logistiek in the sample).
_TENANT = "88825278-08a8-4728-94af-fd0e00ff815f"


@pytest.mark.parametrize("rule", ["West Europe", "westeurope", "EU West", "WESTEUROPE"])
def test_a_rule_s_region_in_any_spelling_prices_two_reports_spelling_it_differently(tmp_path, rule):
    """One customer's Azure usage in West Europe from the partner cost export (resourceLocation
    westeurope, one tenant) and from the daily rated usage file (MeterRegion EU West, no
    ResourceLocation; another tenant: one tenant's usage comes from one format):
    one region, so a rule of that region prices both, however the rule spells it; usage
    elsewhere (eastus2) keeps the plan's other rule."""
    mpa = _rewritten(MPA, tmp_path / "mpa.csv", [{}, {}])  # two usage lines, westeurope
    daily = _rewritten(
        USAGE,
        tmp_path / "daily.csv",
        [
            {"ResourceLocation": "", "MeterRegion": "EU West", "CustomerId": "tenant-1"},
            {"ResourceLocation": "East US 2", "CustomerId": "tenant-1"},
        ],
    )
    accounts = ACCOUNTS + f"microsoft,{_TENANT},C1,,,\n"
    plans = (
        "plans:\n  - id: p\n    rules:\n"
        "      - {id: rest, kind: markup, percent: 10}\n"
        "      - {id: we, kind: markup, percent: 5,"
        f" match: {{vendor: microsoft, region: {rule}}}}}\n"
        "assignments:\n  - {plan: p, group: smb}\n"
    )
    params = write_parameters(tmp_path / "parameters", plans, accounts=accounts)
    con = open_store()
    import_reports(con, [mpa, daily])
    con, pricing, customers = rated_store(params, [], con)
    rate_lines(con, pricing, customers, "2026-10")
    got = con.execute("SELECT source_file, source_row, rule_id FROM rated_lines").fetchall()
    assert sorted((Path(f).name, row, rule) for f, row, rule in got) == [
        ("daily.csv", 2, "we"),
        ("daily.csv", 3, "rest"),
        ("mpa.csv", 2, "we"),
        ("mpa.csv", 3, "we"),
    ]
    assert pricing.plans["p"].rules[1].match.region == "westeurope"
