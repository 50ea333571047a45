"""The text of an invoice line, one implementation for the invoices, the usage sheets and the
notebooks' rated-line tables (``rating.rated_frame``).

A customer's ``line_grouping`` (customers.yaml) says which rated lines are summed into one invoice
line: the *key* of a line is the grouping's raw values (vendor, service, subscription or resource
id, SKU id, provider, publisher, tag values), so two subscriptions never merge because they share
a name. Vendor credits (ChargeCategory ``Credit``: seats removed or cancelled, refunds) are a line
of their own beside the charges of the same key, so a quantity never adds a credit to a charge.

The *text* of a line is what a customer recognises: the product or service name (Microsoft's
SkuName / ProductName, the AWS service, the VMware product) with the name of the subscription,
account or resource beside it (``rated_lines.subscription_name``: the subscription description,
the account name, the last segment of an ARN or Azure resource URI). A raw id is never the whole
text: without a name the text is the product name and a short id. The ids stay in the usage
sheets (column Subscription / resource). Where two lines of one invoice section would read the
same, a short id tells them apart.

A vendor line names the charge period it pays for where that is not the invoice's supply period
(the month): "Exchange Online (Plan 1) – credit (2026-10-04 to 2026-10-31)", a licence cycle
"(2026-10-26 to 2026-11-25)", a year paid up front (``period_sql``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from billing_lib.errors import ParameterError
from billing_lib.printed_texts import clean_text_sql
from billing_lib.sql import ql

CUSTOMERS_FILE = "customers.yaml"
GROUP_COLUMNS = ("vendor", "service", "subscription", "sku", "provider", "publisher")
_TAG = re.compile(r"^[A-Za-z0-9_.:/ @+=-]{1,128}$")
#: Separator of the parts of a line's key (never in vendor text we group by).
_SEP = "chr(31)"
#: Before the service in the key of the lines of a service without a SKU (never in a SKU).
_NO_SKU = "chr(30)"
#: Before the description in the key of the lines without a service (never in a service name).
_NO_SERVICE = "chr(29)"
#: The service part of a line's key: its service, else its description. A FOCUS export leaves
#: ServiceName empty on some charges (Microsoft's reservation and savings plan purchases,
#: rounding adjustments): keyed by an empty service they were one line, named after one of them.
_SERVICE_KEY = f"COALESCE(service, {_NO_SERVICE} || COALESCE(description, ''))"
#: Between a product and the name of the subscription, account or resource it is for.
NAME_DASH = " – "
#: Added to the text of a vendor credit line.
CREDIT_SUFFIX = " – credit"


def check_grouping(
    grouping: list[str] | tuple[str, ...], customer_id: str, source: str | Path = CUSTOMERS_FILE
) -> None:
    """ParameterError naming the customer (in ``source``, the customers file) when ``grouping``
    holds an unknown key or a tag key with characters other than letters, digits and
    ``_.:/ @+=-``."""
    entry = f"customers[id={customer_id}].line_grouping"
    for key in grouping:
        if key.startswith("tag:"):
            if not _TAG.match(key[4:]):
                raise ParameterError(
                    source,
                    entry,
                    f"expected tag:<key> with letters, digits and _.:/ @+=-; got {key!r}",
                )
        elif key not in GROUP_COLUMNS:
            raise ParameterError(
                source,
                entry,
                "expected vendor, service, subscription, sku, provider, publisher or tag:<key>; "
                f"got {key!r}",
            )


def _tag_sql(tag: str, column: str = "tags") -> str:
    path = '$."' + tag.replace('"', '\\"') + '"'
    return f"json_extract_string({column}, {ql(path)})"


#: The tag keys that hold an AWS resource's Name tag, as the line model keeps tags: the CUR 2.0's
#: ``resource_tags`` key (a legacy CUR's ``resourceTags/user:Name`` is read under it too), and
#: the FOCUS export's ``Tags`` key.
NAME_TAGS = ("user_name", "user:Name")


def name_tag_sql(tags: str) -> str:
    """SQL of the resource's Name tag in the JSON object ``tags`` (``NAME_TAGS``), NULL without
    one or where it is blank. The JSON is read only on a line whose tags hold the key's text
    (it runs on every rated line; most have no such tag)."""
    held = " OR ".join(f"contains({tags}, {ql(chr(34) + key + chr(34))})" for key in NAME_TAGS)
    values = ", ".join(
        f"json_extract_string({tags}, {ql('$.' + chr(34) + key + chr(34))})" for key in NAME_TAGS
    )
    return f"CASE WHEN {held} THEN NULLIF(trim(COALESCE({values})), '') END"


#: An id AWS generates for a resource (an EC2 instance ``i-0abc1234def567890``, a volume
#: ``vol-...``, a NAT gateway ``nat-...``; 8 or 17 hexadecimal digits after its type), alone or as
#: the last segment of an ARN: the id of a resource its owner did not name, never a name.
_AWS_ID_FORM = (
    r"(i|vol|snap|eni|nat|eipalloc|vpce|tgw|tgw-attach|vpn|ami|fs|fsap|igw|vpc|subnet|sg|rtb|lt)"
    r"-[0-9a-f]{8}([0-9a-f]{9})?"
)
_AWS_ID = rf"(^|[/:]){_AWS_ID_FORM}/*$"
#: An Elastic Load Balancing ARN: a load balancer (``loadbalancer/app/<name>/<id>``, ``net``,
#: ``gwy``) or a target group (``targetgroup/<name>/<id>``) ends in the 16 hexadecimal digits
#: AWS gave it, after the name its owner chose (a Classic Load Balancer's ends in its name); a
#: listener (``listener/app/<name>/<id>/<listener id>``) and a listener rule
#: (``listener-rule/app/<name>/<id>/<listener id>/<rule id>``) end in their load balancer's and
#: their own ids: named after their load balancer. One of the three groups takes the name.
_ELB_ID = "[0-9a-f]{16}"
_ELB_NAME = (
    r"^arn:aws[a-z-]*:elasticloadbalancing:[^:]*:[^:]*:(?:"
    rf"(?:loadbalancer/(?:app|net|gwy)|targetgroup)/([^/]+)/{_ELB_ID}"
    rf"|listener/(?:app|net|gwy)/([^/]+)/{_ELB_ID}/{_ELB_ID}"
    rf"|listener-rule/(?:app|net|gwy)/([^/]+)/{_ELB_ID}/{_ELB_ID}/{_ELB_ID}"
    r")/*$"
)


def resource_name_sql(
    resource_id: str, resource_name: str, account_name: str, tags: str | None = None
) -> str:
    """SQL of the readable name of what a vendor line is for (``rated_lines.subscription_name``):
    the resource's name where the line has a resource (its Name tag in ``tags`` where the vendor
    gives it no name but its id: an EC2 instance "web-prod-01", not "i-0abc..."; else the last
    segment of an ARN or of an Azure resource URI, trailing slashes ignored; a Microsoft
    subscription's description), else the account's name. A resource named only by an id AWS
    generated (``_AWS_ID``: an instance without a Name tag) is named by its account ("Amazon
    Elastic Compute Cloud – vll-prod"): the invoice line printed the instance's id as its name.
    A load balancer or target group is named by the segment before its id, a listener or
    listener rule by its load balancer's (``_ELB_NAME``: "my-shop-alb", not "50dc6c495c0c9188";
    the whole ARN matches, so replacing it by the one group that took part leaves the name).
    It runs on every rated line: one regular expression takes the segment and skips the
    trailing slashes (with an ``rtrim`` first the expression took 2.5-2.9 CPU-s at three million
    lines, this way 0.8); the load balancers' only where a ``LIKE`` finds one."""
    named = f"COALESCE({resource_name}, {resource_id})"
    unnamed = f"({resource_name} IS NULL OR {resource_name} = {resource_id})"
    own = (
        f"CASE WHEN {unnamed} AND regexp_matches({resource_id}, {ql(_AWS_ID)}) "
        f"THEN {account_name} "
        f"WHEN {named} LIKE 'arn:%:elasticloadbalancing:%' "
        f"AND regexp_matches({named}, {ql(_ELB_NAME)}) "
        f"THEN regexp_replace({named}, {ql(_ELB_NAME)}, '\\1\\2\\3') "
        f"WHEN {named} LIKE 'arn:%' OR {named} LIKE '/%' "
        f"THEN NULLIF(regexp_extract({named}, '([^/:]+)/*$', 1), '') ELSE {named} END"
    )
    if tags:  # the Name tag first, where the vendor names the resource by its id only
        own = f"COALESCE(CASE WHEN {unnamed} THEN {name_tag_sql(tags)} END, {own})"
    return f"CASE WHEN {resource_id} IS NULL THEN {account_name} ELSE {own} END"


def resource_label_sql(resource: str, name: str) -> str:
    """SQL of a rated line's resource as the usage sheets show it: "web-prod-01 (i-0abc...)",
    its name (``subscription_name``) with its id beside it, so that the customer recognises it
    and can still look it up; the id alone where the line has no name, or where the id holds
    the name already (the last segment of an ARN or of an Azure resource URI)."""
    return (
        f"CASE WHEN {name} IS NULL OR {resource} IS NULL OR contains({resource}, {name}) "
        f"THEN {resource} ELSE {name} || ' (' || {resource} || ')' END"
    )


#: A rated line's kind (``rated_lines.line_kind``) as the usage sheets name it; a vendor line's
#: is its charge category (FOCUS: Usage, Purchase, Credit, Adjustment, Tax).
KIND_NAMES = {
    "fee": "Fee",
    "one_off": "One-off charge",
    "credit": "Credit",
    "minimum": "Minimum fee",
    "percent_fee": "Percentage fee",
    "allowance": "Allowance",
    "seat_fee": "Seat fee",
}


def kind_name_sql(kind: str, category: str) -> str:
    """SQL of a rated line's kind in the customer's words (``KIND_NAMES``): "vendor" and
    "one_off" are codes of the rating, which the detail file keeps for machines."""
    cases = " ".join(f"WHEN {ql(k)} THEN {ql(n)}" for k, n in KIND_NAMES.items())
    return f"CASE {kind} WHEN 'vendor' THEN COALESCE({category}, 'Charge') {cases} ELSE {kind} END"


def short_id_sql(value: str) -> str:
    """SQL of a short form of an id, to stand beside a name: its last path segment, longer than
    12 characters cut to an ellipsis and its last 8 (where generated ids differ most often)."""
    last = f"regexp_extract(rtrim({value}, '/'), '[^/:]*$')"
    return f"CASE WHEN length({last}) > 12 THEN '…' || right({last}, 8) ELSE {last} END"


def _key_sql(grouping: tuple[str, ...]) -> str:
    parts: list[str] = []
    for key in grouping:
        if key.startswith("tag:"):
            parts.append(f"COALESCE({_tag_sql(key[4:])}, '')")
        elif key == "sku" and "service" not in grouping:
            # a line without a SKU is one of its service's (data transfer, storage and EC2 lines
            # of a CUR without one were one line named after one of them)
            parts.append(f"COALESCE(sku, {_NO_SKU} || {_SERVICE_KEY})")
        elif key == "service":
            parts.append(_SERVICE_KEY)
        else:
            parts.append(f"COALESCE({key}, '')")
    if not parts:
        parts.append("COALESCE(description, '')")
    # a custom credit is never summed into a fee or one-off of its description (its own line,
    # as a vendor credit's): it hid the credit and counted its quantity as a charge's
    return (
        "CASE WHEN line_kind = 'vendor' THEN concat_ws("
        + _SEP
        + ", "
        + ", ".join(parts)
        + ") ELSE CASE WHEN line_kind = 'credit' THEN 'custom credit' ELSE 'custom' END || "
        + _SEP
        + " || COALESCE(description, line_kind) END"
    )


def line_key_sql(groupings: dict[tuple[str, ...], list[str]], column: str = "customer_id") -> str:
    """SQL of a rated line's ``line_key`` as the invoices key it (which invoice line of its
    product group and credit it is summed into), by the line_grouping ``groupings`` gives the
    value of ``column`` (a customer id; a period for one customer's months); NULL for others.
    For the minimum-fee top-ups, computed before the invoices are built (``rating.fees``)."""
    cases = " ".join(
        f"WHEN list_contains([{', '.join(ql(v) for v in values)}], {column}) "
        f"THEN {_key_sql(grouping)}"
        for grouping, values in groupings.items()
        if values
    )
    return f"CASE {cases} END" if cases else "CAST(NULL AS VARCHAR)"


def key_columns(groupings: dict[tuple[str, ...], list[str]]) -> list[str]:
    """The rated_lines columns ``line_key_sql`` of ``groupings`` reads, so its key can be made on
    lines grouped by them first (a key per line cost four times the grouping itself)."""
    columns = {"line_kind"}
    for grouping in groupings:
        columns |= {"tags" if k.startswith("tag:") else k for k in grouping} or {"description"}
        if "sku" in grouping or "service" in grouping:
            # the key of a line without a SKU, or without a service
            columns |= {"service", "description"}
    return sorted(columns)


def _text_sql(grouping: tuple[str, ...]) -> str:
    """SQL of a line's text over one group's aggregates (``_groups_sql``)."""
    service = "COALESCE(g_service, g_description)"
    # the product of a line of several services (a SKU or provider they share): the vendor's
    # name, never the name of one of them
    shared = f"CASE WHEN n_services > 1 THEN vendor_name ELSE {service} END"
    parts: list[str] = []
    for key in grouping:
        if key.startswith("tag:"):
            tag = key[4:]
            parts.append(f"COALESCE(g_tag_{len(parts)}, {ql('(no ' + tag + ')')})")
        elif key == "vendor":
            continue
        elif key == "service":
            parts.append(service)
        elif key == "subscription":
            # The product beside the name when the grouping does not show it already.
            # (several services of one account: the vendor's name)
            product = (
                "NULL"
                if "service" in grouping
                else f"CASE WHEN n_services = 1 THEN {service} ELSE vendor_name END"
            )
            short = short_id_sql("g_subscription")
            parts.append(
                "CASE WHEN g_name IS NULL AND g_subscription IS NULL "
                f"THEN COALESCE({product}, {service}) "
                f"WHEN g_name IS NULL THEN concat_ws(' ', {product}, {short}) "
                f"WHEN g_name = {service} THEN COALESCE({product}, g_name) "
                f"ELSE concat_ws({ql(NAME_DASH)}, {product}, g_name) END"
            )
        elif key == "sku":
            # a line without a SKU is its service's (``_key_sql``): named after the service,
            # not one of its descriptions ("$0.09 per GB ..." on an invoice in EUR), and not
            # twice where the grouping shows the service already
            no_sku = "NULL" if "service" in grouping else shared
            sku = (
                f"CASE WHEN g_sku IS NULL THEN {no_sku} "
                f"WHEN n_descriptions = 1 AND g_description IS DISTINCT FROM g_sku "
                f"THEN g_description ELSE {_sku_text(service, shared)} END"
            )
            # nor a SKU's description that is the service's name ("Exchange Online (Plan 1) /
            # Exchange Online (Plan 1)")
            parts.append(f"NULLIF({sku}, {service})" if "service" in grouping else sku)
        else:
            parts.append(f"COALESCE(g_{key}, {shared})")
    rest = "concat_ws(' / ', " + ", ".join(parts) + ")" if parts else None
    if rest is None:
        label = "vendor_name" if "vendor" in grouping else "g_description"
    elif "vendor" in grouping:
        label = (
            "CASE WHEN vendors_in_group > 1 "
            f"THEN concat_ws(' / ', vendor_name, {rest}) ELSE {rest} END"
        )
    else:
        label = rest
    return (
        f"CASE WHEN line_kind <> 'vendor' THEN g_description "
        # a text that says credit already (a FOCUS credit named by its description, "Azure
        # credit") is not called a credit twice
        f"WHEN line_credit AND lower({label}) NOT LIKE '%credit' "
        f"THEN {label} || {ql(CREDIT_SUFFIX)} ELSE {label} END"
    )


#: Most services a line of one SKU names (``_sku_text``); more are counted ("and 4 more").
SKU_SERVICES = 3


def _sku_text(service: str, shared: str) -> str:
    """SQL of the text of a line of one SKU of several descriptions: its service's name (or the
    vendor's, for several services) and the SKU's short id, "Amazon Elastic Compute Cloud
    m5.large"; but a short id that is only a number (Microsoft's SkuId, the 0001 of the Azure
    plan's DZH318Z0BPS6:0001) or a cut opaque code (AWS's product/sku DQ578CGN99KG6ECF,
    "…99KG6ECF") names nothing, and the line read "Microsoft 0001": such a line is named after
    its service, or its services ("Storage, Virtual Machines"); two that then read the same get
    a short id to tell them apart (``_texts_sql``)."""
    short = short_id_sql("g_sku")
    n = SKU_SERVICES
    services = (
        f"CASE WHEN len(g_services) > {n} THEN array_to_string(g_services[1:{n}], ', ') "
        f"|| ' and ' || (len(g_services) - {n}) || ' more' "
        "ELSE array_to_string(g_services, ', ') END"
    )
    named = f"CASE WHEN n_services > 1 THEN {services} ELSE {service} END"
    return (
        f"CASE WHEN regexp_full_match({short}, '[0-9]+|….*') THEN {named} "
        f"ELSE concat_ws(' ', {shared}, {short}) END"
    )


#: The aggregates of an invoice line's rated lines its charge period is made of (``period_sql``):
#: the first day charged, the last (``charge_end``: the last day of a period longer than a day,
#: NULL on a line within one day), whether some line is of one day, the periods billed.
_PERIOD_SUMS = """min(charge_date) AS g_first_day,
               max(COALESCE(charge_end, charge_date)) AS g_last_day,
               bool_or(charge_end IS NULL) AS g_day_lines, min(period) AS g_period_from,
               max(period) AS g_period_to"""


def period_sql() -> tuple[str, str]:
    """SQL of the first and the last day (inclusive) of the charge period an invoice line names,
    over its group's ``_PERIOD_SUMS``; both NULL where it names none: a line of the reseller's
    own (its text is its own), or one whose period is the supply period (the billed month).

    An invoice line sums rated lines that may each have a period of their own (a cycle charge
    and seats added later in the cycle; usage beside a licence). It names the span from the
    first start to the last end, which holds every one of its lines, so it is never false for
    one of them. A line within one day (hourly or daily usage) counts as the month it is
    billed in: usage makes up the month, so lines of usage alone name nothing, and a licence of
    the month beside them neither; a day outside the month (an export ending on the 1st
    inclusive) widens the span to it, which the text then says. Splitting the line by period
    instead would make one invoice line of a licence two, and give every day of usage a line."""
    first = "CAST(g_period_from || '-01' AS DATE)"
    last = "last_day(CAST(g_period_to || '-01' AS DATE))"
    start = f"least(g_first_day, CASE WHEN g_day_lines THEN {first} END)"
    end = f"greatest(g_last_day, CASE WHEN g_day_lines THEN {last} END)"
    named = f"line_kind = 'vendor' AND ({start} <> {first} OR {end} <> {last})"
    return f"CASE WHEN {named} THEN {start} END", f"CASE WHEN {named} THEN {end} END"


def period_text_sql(start: str, end: str) -> str:
    """SQL of the text a line's charge period adds to it: " (2026-10-26 to 2026-11-25)", ISO
    dates as the invoice's supply period reads; '' without one."""
    days = f"strftime({start}, '%Y-%m-%d') || ' to ' || strftime({end}, '%Y-%m-%d')"
    return f"COALESCE(' (' || {days} || ')', '')"


def _groups_sql(grouping: tuple[str, ...], source: str, sums: str = "") -> str:
    """One row per invoice line of ``source`` (rows with ``line_key``, ``line_credit`` and
    ``vendor_name``): the values its text is made of, and ``sums`` (more aggregates, with their
    names)."""
    # Numbered as the text's parts are (vendor is not a part).
    tags = []
    n = 0
    for key in grouping:
        if key == "vendor":
            continue
        if key.startswith("tag:"):
            tags.append(f"any_value({_tag_sql(key[4:])}) AS g_tag_{n}")
        n += 1
    if "sku" in grouping:  # a SKU of several services may be named after them (``_sku_text``)
        tags.append("list_sort(list(DISTINCT service) FILTER (service IS NOT NULL)) AS g_services")
    extra = "".join(f", {t}" for t in [*tags, *([sums] if sums else [])])
    return f"""
        SELECT customer_id, product_group, line_key, line_credit,
               any_value(line_kind) AS line_kind, any_value(vendor) AS g_vendor,
               any_value(vendor_name) AS vendor_name,
               any_value(service) AS g_service, count(DISTINCT service) AS n_services,
               any_value(subscription) AS g_subscription, any_value(subscription_name) AS g_name,
               any_value(sku) AS g_sku, any_value(provider) AS g_provider,
               any_value(publisher) AS g_publisher,
               any_value(COALESCE(description, line_kind)) AS g_description,
               count(DISTINCT description) AS n_descriptions, {_PERIOD_SUMS}{extra}
        FROM {source} GROUP BY customer_id, product_group, line_key, line_credit"""


def _branches(
    groupings: dict[tuple[str, ...], list[str]], default: tuple[str, ...] | None
) -> list[tuple[tuple[str, ...], str]]:
    """Per line_grouping: the condition on ``r.customer_id`` of the rows it labels."""
    branches: list[tuple[tuple[str, ...], str]] = []
    for grouping, ids in groupings.items():
        inside = "list_contains([" + ", ".join(ql(i) for i in ids) + "], r.customer_id)"
        branches.append((grouping, inside))
    if default is not None:
        known = [i for ids in groupings.values() for i in ids]
        outside = (
            "NOT list_contains([" + ", ".join(ql(i) for i in known) + "], r.customer_id)"
            if known
            else "true"
        )
        branches.append((default, outside))
    return branches


def _keyed_sql(source: str, grouping: tuple[str, ...], where: str, names: dict[str, str]) -> str:
    """The rows of ``source`` that ``where`` selects with ``vendor_name``, ``line_credit`` and
    their ``line_key`` under ``grouping``."""
    cases = " ".join(f"WHEN {ql(v)} THEN {ql(n)}" for v, n in names.items())
    vendor_name = f"CASE r.vendor {cases} ELSE r.vendor END" if cases else "r.vendor"
    credit = "(r.line_kind = 'vendor' AND COALESCE(r.charge_category, '') = 'Credit')"
    return f"""SELECT *, {_key_sql(grouping)} AS line_key FROM (
                 SELECT r.*, {vendor_name} AS vendor_name, {credit} AS line_credit
                 FROM {source} r WHERE {where})"""


#: The vendors whose lines share a product group (a section): only vendor lines count. The
#: reseller's own allowance, fee or credit in a vendor's section (an Azure allowance in the
#: microsoft group) counted as a second vendor, and every line of the section read "Microsoft /
#: Bandwidth"; its own lines keep their text (``_text_sql``).
_VENDORS_IN_GROUP = (
    "count(DISTINCT CASE WHEN line_kind = 'vendor' THEN g_vendor END) "
    "OVER (PARTITION BY customer_id, product_group)"
)


def _texts_sql(grouping: tuple[str, ...], groups: str) -> str:
    """Per row of ``groups`` (``_groups_sql``): its key columns, ``invoice_line``, the text, and
    ``line_start`` and ``line_end``, the charge period it names (``period_sql``; NULL: none);
    two lines of one section that would read the same get a short id of their key, before the
    period. The vendor's texts are normalised first (``clean_text_sql``: a tab or newline one
    space, a blank name NULL, so the next name stands in), and the text once more as a whole:
    every document prints the same one line, never an empty one."""
    texts = ["g_service", "g_name", "g_sku", "g_provider", "g_publisher", "g_description"]
    texts += [
        f"g_tag_{n}"
        for n, key in enumerate(k for k in grouping if k != "vendor")
        if key.startswith("tag:")
    ]
    cleaned = ", ".join(f"{clean_text_sql(c)} AS {c}" for c in texts)
    short = short_id_sql("replace(line_key, chr(31), '/')")
    span = period_text_sql("line_start", "line_end")
    told_apart = clean_text_sql(
        "CASE WHEN count(*) OVER (PARTITION BY customer_id, product_group, invoice_line, "
        f"line_start, line_end) > 1 THEN invoice_line || ' (' || {short} || ')' "
        f"ELSE invoice_line END || {span}"
    )
    # a custom credit reading as a fee or one-off of its section reads as a vendor credit does
    credit = (
        "CASE WHEN line_kind = 'credit' AND count(*) OVER (PARTITION BY customer_id, "
        f"product_group, text) > 1 THEN text || {ql(CREDIT_SUFFIX)} ELSE text END"
    )
    start, end = period_sql()
    keys = "customer_id, product_group, line_key, line_credit"
    return f"""
        SELECT {keys}, {told_apart} AS invoice_line, line_start, line_end
        FROM (SELECT {keys}, {credit} AS invoice_line, line_start, line_end
        FROM (SELECT {keys}, line_kind, COALESCE({clean_text_sql(_text_sql(grouping))},
                     vendor_name) AS text, {start} AS line_start, {end} AS line_end
              FROM (SELECT * REPLACE ({cleaned}), {_VENDORS_IN_GROUP} AS vendors_in_group
                    FROM {groups})))"""


def labelled_sql(
    source: str,
    groupings: dict[tuple[str, ...], list[str]],
    default: tuple[str, ...] | None,
    vendor_names: dict[str, str],
) -> str:
    """SQL of the rows of ``source`` (rated lines: a table name or a parenthesised query) with
    ``vendor_name``, ``line_key``, ``line_credit`` and ``invoice_line`` (the text of the invoice
    line each row is summed into). ``groupings`` maps a line_grouping to the customer ids using
    it (their rows only); ``default`` is the grouping of every other customer's rows (None: only
    the customers named). An invoice line is the rows of one customer, product group,
    ``line_key`` and ``line_credit``."""
    selects = [
        f"""SELECT * FROM (WITH b AS ({_keyed_sql(source, grouping, where, vendor_names)}),
                u AS ({_texts_sql(grouping, f"({_groups_sql(grouping, 'b')})")})
                SELECT b.*, u.invoice_line FROM b JOIN u
                USING (customer_id, product_group, line_key, line_credit))"""
        for grouping, where in _branches(groupings, default)
    ]
    if not selects:
        return (
            "SELECT r.*, NULL AS vendor_name, NULL AS line_key, false AS line_credit, "
            f"NULL AS invoice_line FROM {source} r WHERE false"
        )
    return " UNION ALL BY NAME ".join(selects)


def keyed_sql(
    source: str, groupings: dict[tuple[str, ...], list[str]], vendor_names: dict[str, str]
) -> str:
    """SQL of the rows of ``source`` of the customers ``groupings`` names, with ``vendor_name``,
    ``line_key`` and ``line_credit`` (as ``labelled_sql``, without the text): joined to
    ``line_texts_sql`` of the same rows on (customer_id, product_group, line_key, line_credit)
    they are ``labelled_sql``'s rows."""
    selects = [
        _keyed_sql(source, grouping, where, vendor_names)
        for grouping, where in _branches(groupings, None)
    ]
    if not selects:
        raise ValueError("keyed_sql needs the customers whose lines it keys")
    return " UNION ALL BY NAME ".join(selects)


def line_texts_sql(
    source: str, groupings: dict[tuple[str, ...], list[str]], vendor_names: dict[str, str]
) -> str:
    """SQL of one row per invoice line of the rows of ``source`` (``customer_id``,
    ``product_group``, ``line_key``, ``line_credit``, ``invoice_line``: the text
    ``labelled_sql`` gives each of its lines). It reads only the columns the texts are made of:
    with ``keyed_sql`` a share of the workbooks' lines is labelled without DuckDB materialising
    every column of every line for the grouping (``labelled_sql``'s CTE)."""
    selects = [
        f"""SELECT * FROM (WITH b AS ({_keyed_sql(source, grouping, where, vendor_names)})
                {_texts_sql(grouping, f"({_groups_sql(grouping, 'b')})")})"""
        for grouping, where in _branches(groupings, None)
    ]
    if not selects:
        raise ValueError("line_texts_sql needs the customers whose lines it labels")
    return " UNION ALL ".join(selects)


def summed_lines_sql(
    source: str,
    groupings: dict[tuple[str, ...], list[str]],
    vendor_names: dict[str, str],
    sums: str,
) -> str:
    """SQL of one row per invoice line of the rows of ``source`` (as ``labelled_sql``, only the
    customers ``groupings`` names): ``customer_id``, ``product_group``, ``line_key``,
    ``line_credit``, ``invoice_line`` and the aggregates ``sums`` (with their names) over its
    rated lines. One pass over the lines: the text's values and the sums in one GROUP BY, the
    text made from that (the same as ``labelled_sql`` gives each of its lines)."""
    selects = [
        f"""SELECT * FROM (WITH b AS ({_keyed_sql(source, grouping, where, vendor_names)}),
                g AS ({_groups_sql(grouping, "b", sums)}),
                u AS ({_texts_sql(grouping, "g")})
                SELECT * FROM g JOIN u USING (customer_id, product_group, line_key, line_credit))"""
        for grouping, where in _branches(groupings, None)
    ]
    if not selects:
        raise ValueError("summed_lines_sql needs the customers whose lines it sums")
    return " UNION ALL BY NAME ".join(selects)


# -- the readable-lines check --------------------------------------------------------------------

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ACCOUNT = re.compile(r"\d{6,}")
_RAW = (
    ("an ARN", re.compile(r"(^|[\s(])arn:aws[a-z-]*:")),
    ("an AWS resource id", re.compile(rf"(^|[\s(]){_AWS_ID_FORM}\b")),
    ("an Azure resource URI", re.compile(r"/subscriptions/[^/\s]+/", re.IGNORECASE)),
)


def line_text_problems(text: str, quantity: Decimal | None) -> list[str]:
    """What makes an invoice line unreadable: a text that is only a GUID or an account number, a
    text holding an ARN, an Azure resource URI or an id AWS generated (``_AWS_ID``), a shown
    quantity with more than 4 decimals."""
    out = []
    bare = text.strip()
    if _GUID.fullmatch(bare):
        out.append(f"{text!r} is a bare GUID")
    if _ACCOUNT.fullmatch(bare):
        out.append(f"{text!r} is a bare account number")
    for what, pattern in _RAW:
        if pattern.search(text):
            out.append(f"{text!r} holds {what}")
    if quantity is not None and -quantity.as_tuple().exponent > 4:  # type: ignore[operator]
        out.append(f"{text!r}: quantity {quantity} has more than 4 decimals")
    return out
