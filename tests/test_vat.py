"""VAT rules: the rule per customer from its country (or its own vat_rule), and bad rules files."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from billing_lib.customers import load_customers
from billing_lib.errors import ParameterError
from billing_lib.vat import load_vat_rules
from tests.invoice_helpers import PARAMETERS, parameters_copy

RULES = load_vat_rules(PARAMETERS)
CUSTOMERS = load_customers(PARAMETERS)


def rule_of(customer_id: str, **update: object) -> str:
    customer = CUSTOMERS[customer_id].model_copy(update=update)
    return RULES.rule_for(customer, "NL").name


def test_the_rule_follows_from_the_country_unless_the_customer_sets_it():
    assert rule_of("C001") == "domestic"
    assert rule_of("C005", vat_rule=None) == "eu_reverse_charge"  # BE with a VAT number
    assert rule_of("C006", vat_rule=None) == "eu_reverse_charge"  # DE
    assert rule_of("C007", vat_rule=None) == "export"  # CH
    assert rule_of("C008", vat_rule=None) == "export"  # US
    # the customer's own setting wins: a German business registered for Dutch VAT
    assert rule_of("C006", vat_rule="domestic", vat_number="NL123456782B01") == "domestic"
    assert (
        rule_of("C005", vat_rule=None, country="GR", vat_number="EL123456783")
        == "eu_reverse_charge"
    )


def test_the_rules_carry_rate_code_and_legal_mention():
    domestic, rc, export = (RULES.rules[k] for k in ("domestic", "eu_reverse_charge", "export"))
    assert (domestic.rate, domestic.fraction, domestic.mention) == (
        Decimal(21),
        Decimal("0.21"),
        None,
    )
    assert rc.rate == 0 and rc.requires_buyer_vat_number
    assert rc.mention == (
        "Reverse charge: VAT to be accounted for by the recipient, Art. 196 Directive 2006/112/EC"
    )
    assert export.rate == 0 and export.mention == "Outside the scope of EU VAT"


def test_reverse_charge_needs_a_vat_number_of_the_customers_country():
    with pytest.raises(
        ParameterError, match=r"customers\[id=C006\]: an EU customer in DE without a VAT number"
    ):
        rule_of("C006", vat_rule=None, vat_number=None)
    with pytest.raises(
        ParameterError, match=r"C005\]\.vat_number: expected a VAT number starting with BE"
    ):
        rule_of("C005", vat_number="NL0456789123")


def test_a_float_rate_or_a_missing_file_is_refused(tmp_path):
    params = parameters_copy(tmp_path)
    data = yaml.safe_load((params / "vat_rules.yaml").read_text())
    data["rules"]["domestic"]["rate"] = 21.0
    (params / "vat_rules.yaml").write_text(yaml.safe_dump(data))
    written = (params / "vat_rules.yaml").read_text().splitlines()
    line = written.index("    rate: 21.0") + 1  # as yaml.safe_dump wrote it
    with pytest.raises(
        ParameterError,
        match=rf"vat_rules.yaml, line {line}, entry rules.domestic.rate: .*not exact",
    ):
        load_vat_rules(params)
    (params / "vat_rules.yaml").unlink()
    with pytest.raises(ParameterError, match="vat_rules.yaml: file not found"):
        load_vat_rules(params)


@pytest.mark.parametrize(
    ("customer", "update", "expected"),
    [
        # Dutch VAT charged to a German business: 21 % it does not owe
        (
            "C006",
            {"vat_rule": "domestic"},
            r"customers\[id=C006\]\.vat_rule: VAT rule 'domestic' charges 21 % NL VAT, but the "
            r"customer is established in DE \(another EU member state\): .* so its rule is "
            r"eu_reverse_charge; a customer registered for VAT in NL",
        ),
        (
            "C008",
            {"vat_rule": "domestic"},
            r"established in US \(outside the EU\): .* its rule is export",
        ),
        # no VAT for a Dutch customer: 21 % the seller owes and did not charge
        (
            "C001",
            {"vat_rule": "eu_reverse_charge"},
            r"C001\]\.vat_rule: VAT rule 'eu_reverse_charge' is the reverse charge .* but the "
            r"customer is in NL \(the seller's own country\): its rule is domestic",
        ),
        (
            "C007",
            {"vat_rule": "eu_reverse_charge", "vat_number": "CHE-123.456.788 MWST"},
            r"reverse charge .* customer is in CH \(outside the EU\): its rule is export",
        ),
        (
            "C001",
            {"vat_rule": "export"},
            r"VAT rule 'export' is for a customer outside the EU, but the customer is in NL",
        ),
        (
            "C006",
            {"vat_rule": "export"},
            r"customer is in DE \(another EU member state\): its rule is eu_reverse_charge",
        ),
    ],
)
def test_a_vat_rule_against_the_customer_s_country_is_refused(customer, update, expected):
    with pytest.raises(ParameterError, match=expected):
        rule_of(customer, **update)


@pytest.mark.parametrize("category", ["AE", "K"])
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"mention": None},
            r"rules\.eu_reverse_charge: .*needs a mention.*Art\. 226\(11a\)",
        ),
        (
            {"show_buyer_vat_number": False},
            r"rules\.eu_reverse_charge: .*show_buyer_vat_number and requires_buyer_vat_number "
            r".*Art\. 226\(4\)",
        ),
        (
            {"requires_buyer_vat_number": False},
            r"rules\.eu_reverse_charge: .*show_buyer_vat_number and requires_buyer_vat_number",
        ),
    ],
)
def test_a_reverse_charge_rule_that_would_print_no_mention_or_vat_number_is_refused(
    tmp_path, category, change, expected
):
    """A reverse-charge rule (AE; K, the exempt intra-EU supply, alike) with ``mention: null`` (its
    VATEX code kept) printed no "Reverse charge" on the PDF and the workbook, and no line with
    both VAT numbers; with ``show_buyer_vat_number: false`` not even the customer's VAT number,
    and the e-invoice lost BT-48 (BR-AE-02 / BR-IC-02 fail for a buyer without a legal
    registration number). Art. 226(4) and (11a) Directive 2006/112/EC ask both, so the rules file
    is refused when loaded."""
    params = parameters_copy(tmp_path)
    data = yaml.safe_load((params / "vat_rules.yaml").read_text())
    rule = data["rules"]["eu_reverse_charge"]
    rule["category"] = category
    rule["exemption_code"] = "VATEX-EU-AE" if category == "AE" else "VATEX-EU-IC"
    (params / "vat_rules.yaml").write_text(yaml.safe_dump(data))
    assert load_vat_rules(params).rules["eu_reverse_charge"].ubl_category == category
    rule.update(change)
    (params / "vat_rules.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ParameterError, match=expected):
        load_vat_rules(params)


@pytest.mark.parametrize(
    ("category", "code"), [("G", "VATEX-EU-G"), ("E", "VATEX-EU-132"), ("O", "VATEX-EU-O")]
)
def test_a_rule_without_vat_that_would_print_no_reason_is_refused(tmp_path, category, code):
    """A rule charging no VAT for a reason (E exempt, G export, O outside the scope) with its
    VATEX code and ``mention: null`` was accepted: the code is in the e-invoice only, so the PDF
    and the workbook said "VAT 0 %" and nowhere why, where Art. 226(11) Directive 2006/112/EC
    asks the invoice to name the exemption. The rules file is refused when loaded."""
    params = parameters_copy(tmp_path)
    data = yaml.safe_load((params / "vat_rules.yaml").read_text())
    data["rules"]["export"].update(category=category, exemption_code=code)
    (params / "vat_rules.yaml").write_text(yaml.safe_dump(data))
    assert load_vat_rules(params).rules["export"].ubl_category == category
    data["rules"]["export"]["mention"] = None
    (params / "vat_rules.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(
        ParameterError, match=rf"rules\.export: .*category {category} needs a mention"
    ):
        load_vat_rules(params)


def test_a_business_in_monaco_is_under_the_reverse_charge_with_its_french_vat_number():
    """Monaco is in France's VAT territory (Art. 7(1) Directive 2006/112/EC): its businesses have
    FR VAT numbers and buy cloud services under the reverse charge like a French one. MC is no
    member state in eu_countries, so a Monaco customer was invoiced as an export "Outside the scope
    of EU VAT" (no reverse charge, missing from the EC sales list), and giving it the rule by hand
    was refused (its FR number "should start with MC")."""
    monaco = {"country": "MC", "vat_number": "FR40303265045"}
    assert rule_of("C006", vat_rule=None, **monaco) == "eu_reverse_charge"
    assert rule_of("C006", vat_rule="eu_reverse_charge", **monaco) == "eu_reverse_charge"
    with pytest.raises(ParameterError, match=r"customer is in MC .*its rule is eu_reverse_charge"):
        rule_of("C006", vat_rule="export", **monaco)
    with pytest.raises(ParameterError, match=r"expected a VAT number starting with FR for .*MC"):
        rule_of("C006", vat_rule=None, country="MC", vat_number="DE298765435")
    customer = CUSTOMERS["C006"].model_copy(update={"vat_rule": None, **monaco})
    assert RULES.rule_for(customer, "FR").name == "domestic"  # a French seller's own territory


def test_a_business_in_the_canary_islands_is_outside_the_scope_not_under_the_reverse_charge():
    """The Canary Islands, Ceuta, Melilla, the French overseas departments, Heligoland, Büsingen,
    the Åland Islands and Mount Athos belong to a member state but not to the EU's VAT territory
    (Art. 6 Directive 2006/112/EC): a business there is outside the scope of EU VAT, as one in
    Switzerland. Their addresses carry the member state's code (ES for Las Palmas: ISO 3166 has
    none for the islands), so a Canary business with its Spanish tax number was invoiced under
    the reverse charge (Art. 196, VAT "to be accounted for by the recipient" in Spain, where none
    is due), and giving it ``export`` was refused ("the customer is in ES ... its rule is
    eu_reverse_charge")."""
    canary = {"country": "ES", "vat_number": "ESB35123454", "postal_code": "35002"}
    assert rule_of("C006", vat_rule=None, **canary) == "export"
    assert rule_of("C006", vat_rule="export", **canary) == "export"
    with pytest.raises(ParameterError, match=r"the Canary Islands, Art\. 6 .*its rule is export"):
        rule_of("C006", vat_rule="eu_reverse_charge", **canary)
    tenerife = {"country": "ES", "postal_code": "38001", "vat_number": "ESB35123454"}
    assert rule_of("C006", vat_rule=None, **tenerife) == "export"
    reunion = {"country": "FR", "postal_code": "97400", "vat_number": "FR40303265045"}
    assert rule_of("C006", vat_rule=None, **reunion) == "export"
    assert rule_of("C006", vat_rule=None, country="DE", postal_code="27498") == "export"
    # the mainland, and Monaco's French postcodes, are in the VAT territory
    assert rule_of("C006", vat_rule=None, **{**canary, "postal_code": "28001"}) == (
        "eu_reverse_charge"
    )
    monaco = {"country": "MC", "vat_number": "FR40303265045", "postal_code": "98000"}
    assert rule_of("C006", vat_rule=None, **monaco) == "eu_reverse_charge"


def test_livigno_and_campione_d_italia_are_outside_the_scope_and_a_shared_postcode_asks():
    """Livigno and Campione d'Italia are Italian but outside the EU's VAT territory (Art. 6(2)
    Directive 2006/112/EC); they were missing, so a business there was invoiced under the
    reverse charge. Their old postcodes (23030, 22060) are shared with communes inside it: the
    postcode cannot tell, so the customer's ``vat_rule`` must, and is then taken as given."""
    italy = {"country": "IT", "vat_number": "IT00743110157"}
    assert rule_of("C006", vat_rule=None, postal_code="23041", **italy) == "export"
    assert rule_of("C006", vat_rule=None, postal_code="22061", **italy) == "export"
    with pytest.raises(ParameterError, match=r"\(Livigno, Art\. 6 .*its rule is export"):
        rule_of("C006", vat_rule="eu_reverse_charge", postal_code="23041", **italy)
    assert rule_of("C006", vat_rule=None, postal_code="20121", **italy) == "eu_reverse_charge"
    with pytest.raises(
        ParameterError,
        match=r"customers\[id=C006\]\.vat_rule: expected the customer's vat_rule: postcode 23030 "
        r"is Livigno's, outside the EU's VAT territory \(Art\. 6 Directive 2006/112/EC\), and "
        r"other places' within it",
    ):
        rule_of("C006", vat_rule=None, postal_code="23030", **italy)
    assert rule_of("C006", vat_rule="export", postal_code="23030", **italy) == "export"
    assert rule_of("C006", vat_rule="eu_reverse_charge", postal_code="22060", **italy) == (
        "eu_reverse_charge"
    )


def test_a_customer_without_a_postcode_where_part_of_the_country_is_outside_vat_is_asked():
    """Without ``postal_code`` a customer in Spain was taken to be on the mainland: a business in
    Las Palmas was invoiced under the reverse charge in silence. The postcode is read from the
    address when ``postal_code`` is left out; with none there, the customer's postcode or its
    ``vat_rule`` is asked."""
    las_palmas = {"country": "ES", "vat_number": "ESB35123454", "postal_code": None}
    address = ["Calle Mayor 3", "35002 Las Palmas de Gran Canaria"]
    assert rule_of("C006", vat_rule=None, address=address, **las_palmas) == "export"
    madrid = ["Calle Mayor 3", "28013 Madrid"]
    assert rule_of("C006", vat_rule=None, address=madrid, **las_palmas) == "eu_reverse_charge"
    with pytest.raises(
        ParameterError,
        match=r"customers\[id=C006\]\.postal_code: expected the customer's postcode \(in "
        r"postal_code or an address line\): parts of ES are outside the EU's VAT territory "
        r"\(the Canary Islands 35, 38, Ceuta 51, Melilla 52; Art\. 6 Directive 2006/112/EC\), "
        r"where the rule is export; or give the customer's vat_rule",
    ):
        rule_of("C006", vat_rule=None, address=["Calle Mayor 3, Madrid"], **las_palmas)
    explicit = rule_of("C006", vat_rule="eu_reverse_charge", address=["Madrid"], **las_palmas)
    assert explicit == "eu_reverse_charge"


def test_the_isle_of_man_is_in_the_united_kingdom_s_vat_territory():
    """The Isle of Man is in the UK's VAT territory (its businesses have GB VAT numbers): for a
    Dutch seller an export as the UK, for a British seller a domestic customer; it was neither
    the UK's, so a British seller's Manx customer was an "export"."""
    manx = {"country": "IM", "vat_number": "GB980780684", "postal_code": "IM1 1AA"}
    assert rule_of("C006", vat_rule=None, **manx) == "export"
    customer = CUSTOMERS["C006"].model_copy(update={"vat_rule": None, **manx})
    assert RULES.rule_for(customer, "GB").name == "domestic"
    with pytest.raises(ParameterError, match=r"customer is established in IM"):
        rule_of("C006", vat_rule="domestic", **manx)


def test_a_northern_irish_business_with_an_xi_number_is_an_export_for_services():
    """Northern Ireland's XI VAT numbers are for trade in goods with the EU (Windsor Framework);
    services to a business there are supplied in the United Kingdom, outside the EU. Asked the
    reverse charge, the message asked for a GB number instead ("expected a VAT number starting
    with GB"), as though the number were the fault, not the rule."""
    belfast = {"country": "GB", "vat_number": "XI980780684", "postal_code": "BT1 5GS"}
    assert rule_of("C006", vat_rule=None, **belfast) == "export"
    assert rule_of("C006", vat_rule="export", **belfast) == "export"
    with pytest.raises(
        ParameterError,
        match=r"customers\[id=C006\]\.vat_rule: VAT rule 'eu_reverse_charge' .* XI VAT number "
        r"XI980780684 is Northern Ireland's for goods \(Windsor Framework\): cloud services to a "
        r"business there are supplied in the United Kingdom, its rule is export",
    ):
        rule_of("C006", vat_rule="eu_reverse_charge", **belfast)


DOMESTIC_RC = {
    "rate": "0",
    "vat_code": "NL-RC",
    "label": "VAT reverse charged",
    "vat_account": "1500",
    "mention": "VAT reverse charged (btw verlegd), Art. 12(5) Wet OB 1968",
    "show_buyer_vat_number": True,
    "requires_buyer_vat_number": True,
    "category": "AE",
    "exemption_code": "VATEX-EU-AE",
    "domestic_reverse_charge": True,
}


def test_a_domestic_reverse_charge_is_only_a_rule_the_customer_names(tmp_path):
    """A member state's own reverse charge (Art. 199, 199a Directive 2006/112/EC) is for specific
    supplies, not cloud services by default: ``eu_reverse_charge`` (Art. 196) for a customer in
    the seller's country stays refused, and a customer could name no other rule (customers.yaml
    took domestic, eu_reverse_charge or export only). A rule marked
    ``domestic_reverse_charge`` is the seller's country's, named by the customer it applies to."""
    params = parameters_copy(tmp_path)
    path = params / "vat_rules.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rules"]["nl_reverse_charge"] = DOMESTIC_RC
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    customers = params / "customers.yaml"
    text = customers.read_text(encoding="utf-8")
    customers.write_text(
        text.replace("    group: smb\n", "    group: smb\n    vat_rule: nl_reverse_charge\n", 1),
        encoding="utf-8",
    )
    rules, loaded = load_vat_rules(params), load_customers(params)
    assert loaded["C001"].vat_rule == "nl_reverse_charge"
    assert rules.rule_for(loaded["C001"], "NL").name == "nl_reverse_charge"
    with pytest.raises(ParameterError, match=r"C001\]\.vat_rule: VAT rule 'eu_reverse_charge'"):
        rules.rule_for(loaded["C001"].model_copy(update={"vat_rule": "eu_reverse_charge"}), "NL")
    german = CUSTOMERS["C006"].model_copy(update={"vat_rule": "nl_reverse_charge"})
    with pytest.raises(
        ParameterError,
        match=r"C006\]\.vat_rule: VAT rule 'nl_reverse_charge' is a domestic reverse charge of "
        r"NL \(Art\. 199, 199a Directive 2006/112/EC\), but the customer is in DE \(another EU "
        r"member state\): its rule is eu_reverse_charge",
    ):
        rules.rule_for(german, "NL")
    unknown = CUSTOMERS["C001"].model_copy(update={"vat_rule": "nl_reverse_chrage"})
    with pytest.raises(
        ParameterError,
        match=r"customers.yaml, entry customers\[id=C001\]\.vat_rule: unknown VAT rule "
        r"'nl_reverse_chrage'; vat_rules.yaml defines: \['domestic', 'eu_reverse_charge', "
        r"'export', 'nl_reverse_charge'\]",
    ):
        rules.rule_for(unknown, "NL")


def test_a_vat_number_of_another_country_than_the_customer_s_asks_for_its_vat_rule():
    """A Swiss customer giving a German VAT number was invoiced as an export and the German
    number printed: the number says it may buy through an establishment in Germany, where the
    reverse charge applies (Art. 44). With the rule derived from the country, a VAT number of
    another country asks for the customer's ``vat_rule``; its own country's (EL for GR, FR for
    MC, GB or XI for GB and IM) is taken."""
    with pytest.raises(
        ParameterError,
        match=r"customers\[id=C007\]\.vat_number: expected a VAT number of CH \(CH\.\.\.\), the "
        r"customer's country: DE298765435 is one of DE, where the customer may be established "
        r"\(its VAT rule would be another\); give the customer's vat_rule",
    ):
        rule_of("C007", vat_rule=None, vat_number="DE298765435")
    assert rule_of("C007", vat_rule="export", vat_number="DE298765435") == "export"
    with pytest.raises(ParameterError, match=r"C001\]\.vat_number: expected a VAT number of NL"):
        rule_of("C001", vat_number="BE0456789133")
    assert rule_of("C001", vat_rule="domestic", vat_number="BE0456789133") == "domestic"
    belfast = {"country": "GB", "vat_number": "XI980780684", "postal_code": "BT1 5GS"}
    assert rule_of("C007", vat_rule=None, **belfast) == "export"
    greek = {"country": "GR", "vat_number": "EL094259216", "postal_code": "10431"}
    assert rule_of("C006", vat_rule=None, **greek) == "eu_reverse_charge"


def test_a_business_in_aland_or_reunion_gives_its_member_state_s_vat_number():
    """The Åland Islands (AX) and the French overseas departments written with their own codes
    (RE, GP, MQ, GF, YT) are outside the EU's VAT territory but their businesses have Finnish and
    French VAT numbers: asking their vat_rule for a FI or FR number refused what is normal there."""
    aland = {"country": "AX", "vat_number": "FI20774740", "postal_code": "22100"}
    assert rule_of("C006", vat_rule=None, **aland) == "export"
    reunion = {"country": "RE", "vat_number": "FR40303265045", "postal_code": "97400"}
    assert rule_of("C006", vat_rule=None, **reunion) == "export"
    with pytest.raises(ParameterError, match=r"expected a VAT number of AX \(FI\.\.\.\)"):
        rule_of("C006", vat_rule=None, **{**aland, "vat_number": "SE556188840401"})


def test_an_address_with_two_postcodes_of_different_places_asks_for_the_postal_code():
    """A post-office box number beside the postcode (``BP 12345``, ``97400 Saint-Denis``): the
    first five digits were taken, a business in Réunion was in France's mainland VAT territory."""
    reunion = {"country": "FR", "vat_number": "FR40303265045", "postal_code": None}
    address = ["BP 12345", "97400 Saint-Denis"]
    with pytest.raises(
        ParameterError,
        match=r"C006\]\.postal_code: expected the customer's postcode in postal_code: the address "
        r"holds 12345 and 97400, one outside the EU's VAT territory \(a French overseas "
        r"territory\), one not",
    ):
        rule_of("C006", vat_rule=None, address=address, **reunion)
    assert rule_of("C006", vat_rule=None, address=address, **{**reunion, "postal_code": "97400"})
    assert rule_of("C006", vat_rule=None, address=["BP 75001", "75002 Paris"], **reunion) == (
        "eu_reverse_charge"
    )
