"""A number written with a comma inside a YAML flow mapping (``{id: aws-15, percent: 15,5}``,
the way the sample's price plans write each rule): YAML ends the entry at the comma, so the
number is cut in two, ``percent: 15`` and a key ``5``. A decimal comma (a European keyboard) or a
thousands separator (``1,500``) gives that; nobody means a number as a key there. Found on the
parsed nodes, before anything is built from them (``parameter_files.read_yaml``)."""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from billing_lib.errors import ParameterError

_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _plain_number(node: yaml.Node) -> bool:
    """Whether ``node`` is a number written without quotes."""
    return isinstance(node, yaml.ScalarNode) and node.tag in _NUMBER_TAGS and not node.style


def _cut_numbers(node: yaml.MappingNode) -> Iterable[tuple[yaml.Node, yaml.Node]]:
    """Each value of a flow mapping that is a number followed at once (no space) by a comma and
    a key that is a number too, with that key: one number YAML read as two."""
    pairs = node.value
    for (_, value), (key, _) in zip(pairs, pairs[1:], strict=False):
        if (
            _plain_number(value)
            and _plain_number(key)
            and key.start_mark.index == value.end_mark.index + 1
        ):
            yield value, key


def check_comma_numbers(path: object, nodes: Iterable[yaml.Node]) -> None:
    """Refuse a number cut in two by a comma inside ``{...}``, named by its line and column, with
    the number as written and how to write it."""
    for node in nodes:
        if not isinstance(node, yaml.MappingNode) or not node.flow_style:
            continue
        for value, key in _cut_numbers(node):
            written = f"{value.value},{key.value}"
            raise ParameterError(
                str(path),
                f"line {value.start_mark.line + 1}, column {value.start_mark.column + 1}",
                f"the number {written!r} has a comma, which ends an entry inside {{...}}: YAML "
                f"reads it as {value.value} and a key {key.value}. Write the number with a point "
                f"before its decimals and no thousands separator ({value.value}.{key.value} or "
                f"{value.value}{key.value}, whichever you mean)",
            )
