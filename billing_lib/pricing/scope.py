"""A rule's scope (``match``): the fields a price plan's rule matches a line on (vendor, provider,
publisher, service, sku, charge_category, charge_type, region, tag, customer), checked when the
plans are loaded, and each field's weight in the rule's specificity (the most specific rule
matching a line wins)."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from billing_lib.azure_regions import rule_region
from billing_lib.model import CHARGE_CATEGORIES, checked_vendor
from billing_lib.parameter_files import Strict

#: The most tags one rule may match on (``Scope.tag``), so that the customer's weight stays above
#: every other field together.
MAX_TAGS = 20


#: Weight of the customer field in a rule's specificity (more than all other fields together: the
#: eight fields of the line's key and ``MAX_TAGS`` tags).
CUSTOMER_WEIGHT = 100


#: A tag pair's name among a scope's fields (``Scope.fields``): ``tag:`` and its key.
TAG_FIELD = "tag:"


#: Charge categories whose lines follow a rule's ``credits`` policy (credits, refunds, price
#: adjustments): those that give money back. A credit of positive cost takes a credit back and
#: follows the policy as the credit did; an adjustment of positive cost is a charge, billed at
#: cost but under ``credits: price`` (the line's ``x_FollowsCredits``, ``model.DERIVED_COLUMNS``;
#: ``rating.keys.rating_keys_sql``).
CREDIT_CATEGORIES = ("Credit", "Adjustment")


#: The vendors' own charge types (``x_VendorChargeType``, in lower case without spaces) as the
#: importers map them (billing_lib/importers/formats): of AWS (both CURs) those it takes, Credit
#: and Refund to ChargeCategory Credit; of Microsoft any, refund (Azure cost exports, the invoice
#: reconciliation file), removequantity, cancelimmediate, cancel, credit, customercredit and any
#: "...adjustment" to Credit or Adjustment only (the reconciliation file; an Azure export maps
#: every type but usage, purchase, tax and unused commitments so; the daily rated usage file by
#: the sign alone, a refund being negative); of VMware only usage. A FOCUS provider's charge type
#: is its ChargeCategory[/ChargeSubcategory]: Credit... and Adjustment... are credits.
AWS_CHARGE_TYPES = frozenset(
    {
        *("usage", "discountedusage", "savingsplancoveredusage", "savingsplannegation"),
        *("edpdiscount", "bundleddiscount", "privateratediscount", "discount"),
        *("distributordiscount", "sppdiscount", "rivolumediscount", "fee", "rifee"),
        *("savingsplanupfrontfee", "savingsplanrecurringfee", "flatratesubscription", "tax"),
        *("credit", "refund"),
    }
)


MICROSOFT_CREDIT_TYPES = frozenset(
    {"refund", "removequantity", "cancelimmediate", "cancel", "credit", "customercredit"}
)


FOCUS_CATEGORIES = ("usage", "purchase", "tax", "credit", "adjustment")


def _carried(vendor: str, charge_type: str) -> tuple[bool, bool]:
    """(a line of ``vendor`` can have ``charge_type``, such a line is always a credit)."""
    kind = charge_type.lower().replace(" ", "")
    if vendor == "aws":
        return kind in AWS_CHARGE_TYPES, kind in ("credit", "refund")
    if vendor == "microsoft":
        return True, kind in MICROSOFT_CREDIT_TYPES or kind.endswith("adjustment")
    if vendor == "vmware":
        return kind == "usage", False
    category = kind.split("/")[0]
    return category in FOCUS_CATEGORIES, category in ("credit", "adjustment")


def credits_only(scope: Scope) -> str | None:
    """Why every line ``scope`` matches is a credit (ChargeCategory Credit or Adjustment: the
    lines a rule's ``credits`` decides for), or None when a charge may match it: its
    ``charge_category``, or a ``charge_type`` that every vendor able to carry it (the rule's
    ``vendor``, else any) maps to Credit or Adjustment only (``_carried``)."""
    if scope.charge_category in CREDIT_CATEGORIES:
        return f"charge_category {scope.charge_category}"
    if scope.charge_type is None or scope.charge_category is not None:
        return None
    vendors = [scope.vendor] if scope.vendor else ["aws", "microsoft", "vmware", "focus"]
    carried = [_carried(v, scope.charge_type) for v in vendors]
    if any(can and not credit for can, credit in carried) or not any(c for _, c in carried):
        return None
    return (
        f"charge_type {scope.charge_type}, which the imports map to ChargeCategory Credit or "
        "Adjustment only"
    )


def _tag_pair(key: Any, value: Any) -> tuple[str, str]:
    """A tag's key and value of a rule's match, trimmed; a blank key or value is refused (it
    matches nothing), and so is one YAML did not read as text (``2026``, ``010`` as 8, ``1.10``
    as 1.1: never the tag's text)."""
    if not isinstance(key, str):
        raise ValueError(f"the tag key {key!r} is not text: quote it ('{key}')")
    if not key.strip():
        raise ValueError(f"a blank tag key matches nothing (got {key!r}); give the key")
    key = key.strip()
    if not isinstance(value, str):
        raise ValueError(f"the value of tag {key!r} is {value!r}, not text: quote it ('{value}')")
    if not value.strip():
        raise ValueError(
            f"the value of tag {key!r} is blank: a blank value matches nothing; leave the tag "
            "out to match every value"
        )
    return key, value.strip()


class Scope(Strict):
    """Which lines a rule is for; a field left out matches every value."""

    vendor: str | None = None
    provider: str | None = None
    publisher: str | None = None
    service: str | None = None
    sku: str | None = None
    charge_category: str | None = None
    charge_type: str | None = Field(
        default=None, description="Vendor's own line type, e.g. Refund, Credit"
    )
    region: str | None = Field(
        default=None,
        description="The line's RegionId: AWS's region code, Azure's resource location",
    )
    tag: dict[str, str] | None = Field(
        default=None,
        description=(
            "Tags the line's Tags must all have, key: value (keys and values compared whatever "
            "their case)"
        ),
    )
    customer: str | None = None

    @field_validator("vendor")
    @classmethod
    def _vendor_lower_case(cls, value: str | None) -> str | None:
        """The vendor as every format names it (``x_Vendor``: aws, microsoft, vmware; FOCUS
        lower-cases its provider) and as accounts.csv reads it (``model.line_vendor``):
        ``vendor: AWS`` and ``vendor: azure`` (Azure's lines are ``microsoft``) matched no line,
        and the catch-all rule priced them in silence."""
        return checked_vendor(value) if value is not None else None

    @field_validator("provider", "publisher", "service", "sku", "charge_type", "region", "customer")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        """The text without spaces around it, as vendors' values are compared: ``charge_type:
        'Refund '`` matched no line, and the catch-all rule priced refunds in silence."""
        if value is None:
            return None
        if not value.strip():
            raise ValueError(
                "a blank value matches nothing: leave the field out to match every value"
            )
        return value.strip()

    @field_validator("tag", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        """Each key and value trimmed, as the other fields' values (``_tag_pair``); refused: no
        mapping, an empty one, a key given twice in two cases (one key: tag keys are compared
        whatever their case), more than ``MAX_TAGS``."""
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(
                "expected a mapping of tag keys to values, e.g. tag: {managed-by: msp}"
            )
        if not value:
            raise ValueError("an empty tag matches every line: leave tag out, or give key: value")
        if len(value) > MAX_TAGS:
            raise ValueError(f"a rule matches at most {MAX_TAGS} tags; got {len(value)}")
        tags = dict(_tag_pair(key, text) for key, text in value.items())
        seen: dict[str, str] = {}
        for key in tags:
            if key.lower() in seen:
                raise ValueError(
                    f"tag {key.lower()!r} is given twice (as {seen[key.lower()]!r} and {key!r}); "
                    "keys are compared whatever their case, so give it once"
                )
            seen[key.lower()] = key
        return tags

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Azure's region by its programmatic name, as Microsoft's lines hold it
        (``azure_regions.rule_region``): ``region: West Europe`` and ``region: EU West`` matched
        no line (they read ``westeurope``), and the plan's other rules priced them in silence.
        Runs after ``_trimmed`` (declared after it) and the vendor's validator (a field before)."""
        return None if value is None else rule_region(value, info.data.get("vendor"))

    @field_validator("charge_category")
    @classmethod
    def _category(cls, value: str | None) -> str | None:
        if value == "Tax":
            raise ValueError(
                "vendor taxes (ChargeCategory Tax) are never billed, so no rule can price them"
            )
        if value is not None and value not in CHARGE_CATEGORIES:
            raise ValueError(
                f"expected one of {', '.join(c for c in CHARGE_CATEGORIES if c != 'Tax')}"
            )
        return value

    def fields(self) -> dict[str, str]:
        """The match fields given, as written; each tag pair a field of its own (``TAG_FIELD``
        and its key: ``tag:managed-by``), as it counts in the specificity."""
        scope = {k: v for k, v in self.model_dump(exclude={"tag"}).items() if v is not None}
        return scope | {f"{TAG_FIELD}{k}": v for k, v in (self.tag or {}).items()}

    def folded(self) -> dict[str, str]:
        """``fields`` as the rating compares them: in lower case but the customer (an id), since
        a line's service, SKU or charge type matches a rule whatever their case (``service:
        amazon ec2`` priced nothing, and the catch-all priced EC2 in silence); a tag's key in
        lower case too (Azure's tag keys are case-insensitive, AWS's are lower case once
        imported: docs/pricing.md)."""
        return {k.lower(): v if k == "customer" else v.lower() for k, v in self.fields().items()}

    def folded_tags(self) -> dict[str, str]:
        """The tags as the rating compares them: key and value in lower case."""
        return {k.lower(): v.lower() for k, v in (self.tag or {}).items()}
