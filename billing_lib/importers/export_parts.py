"""Part files of one export: a large export delivered as several files, read as one report where
identical rows are legitimate (FOCUS, ``repeated_rows``).

Providers cut a large export into parts at a size, wherever it falls: AWS Data Exports writes
``<export-name>-00001.csv.gz``, ``-00002`` ... (five digits; ``.snappy.parquet`` for Parquet),
Azure Cost Management's partitioned exports ``part_0_0001.csv``, ``part_1_0001.csv`` ... beside a
manifest, BigQuery (where Google Cloud keeps its FOCUS data) ``<name>-000000000000.csv``,
``-000000000001`` ... (a wildcard export: 12 digits from 0), and other tools
``<name>-part-00001.csv``. FOCUS accepts identical rows inside one
file (two virtual machines billed alike), so two such rows must not be refused because the cut
put them into two parts, while two different exports that overlap (two month-to-date downloads)
still are (``line_content.check_rows_not_imported``).

Files are parts of one export (``ExportParts``) when they are given in one import, lie in one
folder (or one folder of one zip), have the same name but for the part number, whose digits are
laid out alike (``-00001`` and ``-00002``, not ``-1``), are read by the same format with the
same columns in the same order, and each has a part number of its own: a number given twice is
another delivery, compared as a report of its own. Only the part numbers above are recognised,
so that files named after a day (``focus-2026-10-20.csv``) are never taken for parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath

from billing_lib.importers.reader import SourceFile
from billing_lib.importers.spec import FormatSpec

#: The endings of a report file, stripped before its part number is looked for: the compression
#: (``.gz``), the kind (``.csv``, ``.tsv``, ``.parquet``) and a Parquet codec (``.snappy``).
_ENDING = re.compile(r"(\.(snappy|gz|gzip|zstd|lz4|brotli))?\.(csv|tsv|parquet)(\.gz)?$", re.I)
#: Part numbers, in the order tried, as (name, pattern of the name without its ending): Azure
#: Cost Management's ``part_<partition>_<sequence>``, a ``part`` word with a number, AWS Data
#: Exports' ``-`` and five digits, and BigQuery's ``-`` and twelve digits counted from 0 (six
#: leading zeros at least: a name ending in a 12-digit AWS account id is no part).
PART_NAMES = (
    ("Azure Cost Management partitioned export", re.compile(r"^(|.*[-_. ])part_(\d+_\d+)$", re.I)),
    ("numbered part", re.compile(r"^(|.*[-_. ])part[-_]?(\d+)$", re.I)),
    ("AWS Data Exports file", re.compile(r"^(.+)-(\d{5})$")),
    ("BigQuery export file", re.compile(r"^(.+)-(0{6}\d{6})$")),
)
#: A zip member's name (``archive.zip!folder/member``: reader.open_sources).
_ZIP_MEMBER = re.compile(r"^(.*?\.zip)!(.*)$", re.I)


@dataclass(frozen=True)
class ExportPart:
    """Where a file stands among the parts of an export: ``export``, what its parts share
    (zip and folder, name without the number, layout of the number, ending), and its
    ``number``."""

    export: tuple[str, ...]
    number: str


def export_part(name: str) -> ExportPart | None:
    """The part of an export that the file or zip member ``name`` is by its name, or None."""
    member = _ZIP_MEMBER.match(name)
    container, inner = (member.group(1), member.group(2)) if member else ("", name)
    path = PurePath(inner.replace("\\", "/"))
    ending = _ENDING.search(path.name)
    if ending is None:
        return None
    base = path.name[: ending.start()]
    for kind, pattern in PART_NAMES:
        if m := pattern.match(base):
            stem, number = m.group(1), m.group(2)
            layout = f"{kind}: {re.sub('[0-9]', '9', number)}"
            shared = (container, str(path.parent), stem.lower(), layout, ending.group(0).lower())
            return ExportPart(shared, number)
    return None


@dataclass
class ExportParts:
    """The parts of exports among the reports of one import, in the order they are read."""

    _seen: dict[tuple[object, ...], dict[str, str]] = field(default_factory=dict)

    def earlier_parts(self, src: SourceFile, spec: FormatSpec) -> tuple[str, ...]:
        """The names of the reports read before ``src`` in this import that are parts of the
        same export (module docstring), for a format whose identical rows are legitimate
        (``repeated_rows``); none for the others, where an identical row in another part is a
        repeat as it is inside one file, and stays refused."""
        part = export_part(src.name)
        if part is None or not spec.repeated_rows:
            return ()
        numbers = self._seen.setdefault((part.export, spec.name, src.header), {})
        if part.number in numbers:
            return ()  # the same part again: another delivery of the export
        earlier = tuple(numbers.values())
        numbers[part.number] = src.name
        return earlier


#: A part number at the end of a delivery's file name: AWS Data Exports' ``-00001`` and a legacy
#: CUR's ``-1``, ``-2`` ... (``deliveries``).
_DELIVERY_PART = re.compile(r"^(.+)-(\d+)$")


def delivery_part(name: str) -> ExportPart:
    """The delivery the file or zip member ``name`` is a part of by its name, for the formats
    whose reports are told apart by delivery (``FormatSpec.one_delivery``): its zip and folder,
    its name without a trailing ``-<digits>`` part number, and its ending; ``number`` that part
    number ('' for a name without one, a delivery of its own)."""
    member = _ZIP_MEMBER.match(name)
    container, inner = (member.group(1), member.group(2)) if member else ("", name)
    path = PurePath(inner.replace("\\", "/"))
    ending = _ENDING.search(path.name)
    base = path.name[: ending.start()] if ending else path.name
    suffix = ending.group(0).lower() if ending else ""
    if m := _DELIVERY_PART.match(base):
        return ExportPart((container, str(path.parent), m.group(1).lower(), suffix), m.group(2))
    return ExportPart((container, str(path.parent), base.lower(), suffix), "")
