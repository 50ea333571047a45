"""Azure's regions by one name: the programmatic name (``westeurope``, ``eastus2``).

Microsoft writes a resource's location in several spellings, by export: the programmatic name
(cost details' ResourceLocation, FOCUS RegionId: ``westeurope``), the display name (FOCUS
RegionName: ``West Europe``), the legacy names of the EA and partner usage files (MeterRegion, an
old ResourceLocation: ``EU West``, ``US East 2``), Pascal case (the EA export: ``EastUS2``) or
upper case (``WESTEUROPE``). Each becomes the programmatic name (``azure_region``): lower case
without spaces gives it for every display name and for Pascal or upper case; the legacy names are
in ``LEGACY_LOCATIONS``. A spelling the table does not know is kept in lower case without spaces
(``Zone 1`` reads ``zone1``): a region Azure opens after this table was written is its own
region, never an error that stops a run.

Where it is used: every Microsoft import format reads ``RegionId`` through the SQL macro
``_azure_region`` (``AZURE_REGION_MACRO``, the same rule, installed with the importers' macros),
FOCUS for its Microsoft lines only; a price-plan rule's ``region`` is read by ``rule_region``, so
``region: West Europe``, ``westeurope`` and ``EU West`` all match Azure's lines in West Europe
(docs/pricing.md, "A markup by region"). AWS's region codes (``eu-central-1``) are lower case
without spaces already, and stay as they are.

Sources: the display and programmatic names are those ``az account list-locations`` lists for
Azure's public, US Government and China clouds; the legacy names and the region each names are
those of Microsoft's FinOps toolkit open data, ``src/open-data/Regions.csv``
(https://github.com/microsoft/finops-toolkit, MIT licence), which maps the region values found in
Cost Management data to a region id.
"""

from __future__ import annotations

from billing_lib.sql import ql

#: Azure's regions: programmatic name -> display name (``az account list-locations``). The
#: display name in lower case without spaces is the programmatic name, for each of them
#: (tests/test_azure_regions.py checks it), so display names need no entry of their own.
REGIONS: dict[str, str] = {
    "australiacentral": "Australia Central",
    "australiacentral2": "Australia Central 2",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "austriaeast": "Austria East",
    "belgiumcentral": "Belgium Central",
    "brazilsouth": "Brazil South",
    "brazilsoutheast": "Brazil Southeast",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "centralindia": "Central India",
    "centralus": "Central US",
    "centraluseuap": "Central US EUAP",
    "chilecentral": "Chile Central",
    "chinaeast": "China East",
    "chinaeast2": "China East 2",
    "chinaeast3": "China East 3",
    "chinanorth": "China North",
    "chinanorth2": "China North 2",
    "chinanorth3": "China North 3",
    "denmarkeast": "Denmark East",
    "eastasia": "East Asia",
    "eastus": "East US",
    "eastus2": "East US 2",
    "eastus2euap": "East US 2 EUAP",
    "eastus3": "East US 3",
    "francecentral": "France Central",
    "francesouth": "France South",
    "germanycentral": "Germany Central",
    "germanynorth": "Germany North",
    "germanynortheast": "Germany Northeast",
    "germanywestcentral": "Germany West Central",
    "indonesiacentral": "Indonesia Central",
    "israelcentral": "Israel Central",
    "italynorth": "Italy North",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "jioindiacentral": "Jio India Central",
    "jioindiawest": "Jio India West",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
    "malaysiawest": "Malaysia West",
    "mexicocentral": "Mexico Central",
    "newzealandnorth": "New Zealand North",
    "northcentralus": "North Central US",
    "northeurope": "North Europe",
    "norwayeast": "Norway East",
    "norwaywest": "Norway West",
    "polandcentral": "Poland Central",
    "qatarcentral": "Qatar Central",
    "southafricanorth": "South Africa North",
    "southafricawest": "South Africa West",
    "southcentralus": "South Central US",
    "southeastasia": "Southeast Asia",
    "southindia": "South India",
    "spaincentral": "Spain Central",
    "swedencentral": "Sweden Central",
    "swedensouth": "Sweden South",
    "switzerlandnorth": "Switzerland North",
    "switzerlandwest": "Switzerland West",
    "taiwannorth": "Taiwan North",
    "uaecentral": "UAE Central",
    "uaenorth": "UAE North",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "usdodcentral": "USDoD Central",
    "usdodeast": "USDoD East",
    "usgovarizona": "USGov Arizona",
    "usgoviowa": "USGov Iowa",
    "usgovtexas": "USGov Texas",
    "usgovvirginia": "USGov Virginia",
    "westcentralus": "West Central US",
    "westeurope": "West Europe",
    "westindia": "West India",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
}

#: The legacy names of the EA and partner usage files (lower case, one space between words, as
#: ``azure_region`` looks them up) -> programmatic name: only those that lower case without
#: spaces does not give ("EU West" is westeurope, not euwest; "UK South" and "US Gov Virginia"
#: need no entry). Microsoft FinOps toolkit, src/open-data/Regions.csv (module docstring).
LEGACY_LOCATIONS: dict[str, str] = {
    "ae central": "uaecentral",
    "ae north": "uaenorth",
    "ap east": "eastasia",
    "ap southeast": "southeastasia",
    "at east": "austriaeast",
    "au central": "australiacentral",
    "au central 2": "australiacentral2",
    "au east": "australiaeast",
    "au southeast": "australiasoutheast",
    "be central": "belgiumcentral",
    "br south": "brazilsouth",
    "br southeast": "brazilsoutheast",
    "ca central": "canadacentral",
    "ca east": "canadaeast",
    "ch north": "switzerlandnorth",
    "ch west": "switzerlandwest",
    "cl central": "chilecentral",
    "cn east": "chinaeast",
    "cn east 2": "chinaeast2",
    "cn east 3": "chinaeast3",
    "cn north": "chinanorth",
    "cn north 2": "chinanorth2",
    "cn north 3": "chinanorth3",
    "de central": "germanycentral",
    "de north": "germanynorth",
    "de northeast": "germanynortheast",
    "de west central": "germanywestcentral",
    "es central": "spaincentral",
    "eu north": "northeurope",
    "eu west": "westeurope",
    "fr central": "francecentral",
    "fr south": "francesouth",
    "id central": "indonesiacentral",
    "il central": "israelcentral",
    "in central": "centralindia",
    "in central jio": "jioindiacentral",
    "in south": "southindia",
    "in west": "westindia",
    "in west jio": "jioindiawest",
    "it north": "italynorth",
    "ja east": "japaneast",
    "ja west": "japanwest",
    "kr central": "koreacentral",
    "kr south": "koreasouth",
    "mx central": "mexicocentral",
    "my west": "malaysiawest",
    "no east": "norwayeast",
    "no west": "norwaywest",
    "nz north": "newzealandnorth",
    "pl central": "polandcentral",
    "qa central": "qatarcentral",
    "se central": "swedencentral",
    "se south": "swedensouth",
    "tw north": "taiwannorth",
    "us central": "centralus",
    "us east": "eastus",
    "us east 2": "eastus2",
    "us east 3": "eastus3",
    "us gov az": "usgovarizona",
    "us gov tx": "usgovtexas",
    "us north central": "northcentralus",
    "us south central": "southcentralus",
    "us west": "westus",
    "us west 2": "westus2",
    "us west 3": "westus3",
    "us west central": "westcentralus",
    "usgov south central": "usgovtexas",
    "za north": "southafricanorth",
    "za west": "southafricawest",
}


def azure_region(location: str) -> str:
    """The programmatic name of the Azure region ``location`` names in any of Microsoft's
    spellings (module docstring): a text without spaces in lower case (``westeurope``,
    ``WESTEUROPE``, ``EastUS2``, or a name not in the table: every legacy name has a space);
    else looked up in ``LEGACY_LOCATIONS`` in lower case, and where it is none of those, in
    lower case without spaces (``West Europe``; ``Zone 1`` reads ``zone1``). ``_azure_region``
    in SQL gives the same."""
    if " " not in location:
        return location.lower()
    key = location.strip(" ").lower()
    return LEGACY_LOCATIONS.get(key, key.replace(" ", ""))


def rule_region(region: str, vendor: str | None) -> str:
    """A price-plan rule's ``region`` as the lines of ``vendor`` (``x_Vendor``) hold it: for
    Microsoft, the region's programmatic name (``azure_region``: ``West Europe`` and ``EU West``
    are westeurope, as Azure's lines are); for a rule of no vendor, the same where ``region`` is
    a spelling of a region ``REGIONS`` lists (a data centre of another vendor's stays as it is);
    for another vendor, as written (AWS's ``eu-central-1``). Compared whatever its case."""
    if vendor == "microsoft":
        return azure_region(region)
    if vendor is None and azure_region(region) in REGIONS:
        return azure_region(region)
    return region


def _legacy_map() -> str:
    pairs = ", ".join(f"{ql(k)}: {ql(v)}" for k, v in sorted(LEGACY_LOCATIONS.items()))
    return f"MAP {{{pairs}}}"


#: SQL: ``_azure_region(location)``, ``azure_region`` over a VARCHAR (NULL stays NULL). A text
#: without spaces (every line of a cost-details export, the EA export's EastUS2) is lower-cased
#: and looked up nowhere: 0.3 s more for 10 million lines than reading the column as it is; a
#: legacy name (a space: EU West) is looked up in a MAP, 2-3 s more for 10 million such lines
#: (benchmarks/README.md, "Azure region names at import"). A MAP, not a CASE of seventy
#: branches nested in the first: that made DuckDB take 77 s for 10 million lines.
AZURE_REGION_MACRO = f"""
CREATE OR REPLACE TEMP MACRO _azure_region(location) AS CASE
  WHEN NOT contains(location, ' ') THEN lower(location)
  ELSE COALESCE({_legacy_map()}[lower(trim(location))], replace(lower(trim(location)), ' ', ''))
END;
"""
