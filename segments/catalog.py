"""The worksheet's segment catalog, as templates.

Each catalog segment turns a dataset mapping (segments.roles) into a segment the
engine understands (analytics.engine.trends: a breakdown, a criterion, or ordered criteria
buckets), or says why the data cannot support it ("no column looks like company size"),
so that nothing silently disappears from the catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics.engine.definitions import DefinitionError
from analytics.engine.storage import DatasetSchema
from analytics.engine.weeks import validate_segment
from analytics.engine.wording import describe_breakdown, describe_criterion

from . import catalog_templates as templates
from .catalog_templates import Unsupported
from .roles import DEFAULT_AGE_BINS, DEFAULT_COMPANY_SIZE_BINS, NUMERIC


@dataclass(frozen=True)
class CatalogSegment:
    key: str
    group: str
    name: str
    question: str
    needs: tuple[str, ...]  # mapping roles it reads
    build: Callable[[dict], dict]
    headline: Callable[[dict], tuple[str, dict] | None] | None = None


@dataclass
class Resolution:
    """A catalog segment for one dataset: the engine segment, or why there is none."""

    entry: CatalogSegment
    segment: dict | None
    explanation: str  # how it is built, or why it cannot be

    @property
    def supported(self) -> bool:
        return self.segment is not None

    @property
    def key(self) -> str:
        return self.entry.key


# ---------------------------------------------------------------- the catalog


def _category(key: str, bins_key: str | None = None, default: list | None = None,
              codes: bool = False):
    return lambda m: templates.by_category(m, key, bins_key, default, codes)


CATALOG: tuple[CatalogSegment, ...] = (
    CatalogSegment("saas.logins", "SaaS", "Number of logins",
                   "Do users who come back often in their first week succeed more?",
                   ("login_event",), templates.logins, templates.logins_headline),
    CatalogSegment("saas.time_in_app", "SaaS", "Time spent in the app",
                   "Minutes in the app in the first week, from the events' sessions.",
                   (), templates.time_in_app, templates.time_headline),
    CatalogSegment("saas.adoption", "SaaS", "Product adoption",
                   "How many of the key product actions users tried in two weeks.",
                   ("core_events",), templates.adoption, templates.adoption_headline),
    CatalogSegment("saas.feature", "SaaS", "Specific feature usage",
                   "Users who used one feature in their first week.",
                   ("feature_event",), templates.feature, templates.feature_headline),
    CatalogSegment("saas.plan", "SaaS", "Plan", "The plan or tier an account is on.",
                   ("plan",), templates.plan),
    CatalogSegment("ecomm.aov", "eComm", "Average order value",
                   "Average value of a user's orders in the first month.",
                   ("order_event", "order_value", "order_value_bins"), templates.aov,
                   templates.aov_headline),
    CatalogSegment("ecomm.first_time", "eComm", "First-time visitors",
                   "Users who visit once against those who come back.",
                   ("visitor_type",), templates.first_time, templates.first_time_headline),
    CatalogSegment("ecomm.repeat", "eComm", "Repeat shoppers",
                   "Orders in the first month: none, one, or more.",
                   ("order_event", "order_id"), templates.repeat, templates.repeat_headline),
    CatalogSegment("ecomm.guest", "eComm", "Guest shoppers",
                   "Users who bought without an account.",
                   ("guest", "order_event", "signup_event"), templates.guest,
                   templates.guest_criterion),
    CatalogSegment("finserv.stage", "FinServ", "Application stage",
                   "How far an application got.", ("application_stage", "stage_events"),
                   templates.stage, templates.stage_headline),
    CatalogSegment("finserv.policies", "FinServ", "Single vs. multiple policy holders",
                   "Customers holding one policy against several.", ("policy_count",),
                   templates.policies, templates.policies_headline),
    CatalogSegment("finserv.returning", "FinServ", "Returning customers",
                   "Customers who came before against first-timers.",
                   ("prior_count", "visitor_type", "order_event"), templates.returning,
                   templates.returning_headline),
    CatalogSegment("demo.age", "Demographics", "Age", "Age bands.", ("age", "age_bins"),
                   _category("age", "age_bins", DEFAULT_AGE_BINS)),
    CatalogSegment("demo.gender", "Demographics", "Gender", "Gender.", ("gender",),
                   _category("gender")),
    CatalogSegment("demo.education", "Demographics", "Education", "Highest education.",
                   ("education",), _category("education")),
    CatalogSegment("demo.location", "Demographics", "Location", "Country, region or city.",
                   ("location",), _category("location", codes=True)),
    CatalogSegment("tech.mobile", "Technographics", "Mobile users",
                   "Users on a phone against everyone else.",
                   ("device", "mobile_values"), templates.mobile,
                   lambda m: templates.device_is(m, "mobile_values")),
    CatalogSegment("tech.desktop", "Technographics", "Desktop users",
                   "Users on a computer against everyone else.",
                   ("device", "desktop_values"), templates.desktop,
                   lambda m: templates.device_is(m, "desktop_values")),
    CatalogSegment("tech.tools", "Technographics", "3rd-party tools",
                   "How many other tools users connected in two weeks.",
                   ("tool", "integration_event"), templates.tools, templates.tools_headline),
    CatalogSegment("tech.integrations", "Technographics", "Integrations",
                   "Users who connected an integration in two weeks.",
                   ("integration_event",), templates.integrations,
                   templates.integrations_headline),
    CatalogSegment("firmo.company_size", "Firmographics", "Company size",
                   "Size of the user's company.", ("company_size", "company_size_bins"),
                   _category("company_size", "company_size_bins", DEFAULT_COMPANY_SIZE_BINS)),
    CatalogSegment("firmo.organization_type", "Firmographics", "Organization type",
                   "Industry or kind of organization.", ("organization_type",),
                   _category("organization_type")),
    CatalogSegment("firmo.ownership", "Firmographics", "Ownership",
                   "Private, public, nonprofit...", ("ownership",), _category("ownership")),
    CatalogSegment("firmo.growth", "Firmographics", "Growth trends",
                   "Whether the user's company is growing.", ("growth_trend",),
                   _category("growth_trend")),
)
CATALOG_BY_KEY = {entry.key: entry for entry in CATALOG}
GROUPS = tuple(dict.fromkeys(entry.group for entry in CATALOG))
CATEGORY_ROLES = {"saas.plan": "plan", "demo.age": "age", "demo.gender": "gender",
                  "demo.education": "education", "demo.location": "location",
                  "firmo.company_size": "company_size",
                  "firmo.organization_type": "organization_type",
                  "firmo.ownership": "ownership", "firmo.growth": "growth_trend",
                  "finserv.stage": "application_stage", "ecomm.first_time": "visitor_type"}


def _with_schema(mapping: dict, schema: DatasetSchema | None) -> dict:
    return {**mapping, "__events": dict(schema.events) if schema is not None else None}


def resolve(key: str, mapping: dict, schema: DatasetSchema | None = None) -> Resolution:
    """One catalog segment for a dataset's mapping. With the schema, the segment is also
    checked against the data (a name that is gone makes it unsupported, saying why)."""
    entry = CATALOG_BY_KEY[key]
    try:
        segment = {"key": key, **entry.build(_with_schema(mapping, schema))}
    except Unsupported as why:
        return Resolution(entry, None, _sentence(str(why)))
    note = segment.pop("note", None)
    if schema is not None:
        try:
            segment = validate_segment(segment, schema)
        except DefinitionError as error:
            return Resolution(entry, None, _sentence(f"the data does not fit: {error}"))
    explanation = describe_segment(segment)
    return Resolution(entry, segment, f"{explanation} ({note})" if note else explanation)


def resolve_all(mapping: dict, schema: DatasetSchema | None = None) -> list[Resolution]:
    return [resolve(entry.key, mapping, schema) for entry in CATALOG]


def segment_criterion(segment_key: str, mapping: dict, *, value: str | None = None
                      ) -> dict | None:
    """The criterion a Phase 2 hypothesis can start from: the segment's headline group
    (e.g. "3 or more login events in the first week"), or, for a segment that splits by a
    property's values (age, plan, company size...), the users with `value`. None when the
    mapping cannot support it or a value is needed and missing."""
    result = segment_hypothesis(segment_key, mapping, value=value)
    return result["criterion"] if result else None


def segment_hypothesis(segment_key: str, mapping: dict, *, value: str | None = None
                       ) -> dict | None:
    """{"text": "Users who ... succeed more often", "criterion": {...}} or None."""
    entry = CATALOG_BY_KEY.get(segment_key)
    if entry is None:
        return None
    mapping = _with_schema(mapping, None)
    try:
        if value is not None and segment_key in CATEGORY_ROLES:
            found = templates.value_headline(mapping, CATEGORY_ROLES[segment_key], value)
        elif entry.headline is not None:
            found = entry.headline(mapping)
        else:
            found = None
    except Unsupported:
        return None
    if found is None:
        return None
    label, criterion = found
    return {"text": f"Users whose {label} succeed more often" if " is " in label
            else f"Users who {_as_clause(label)} succeed more often", "criterion": criterion,
            "label": label}


def _as_clause(label: str) -> str:
    for prefix in ("used ", "did ", "reached ", "connected ", "ordered ", "checked "):
        if label.startswith(prefix):
            return label
    return f"have {label}"


def bucket_values(segment_key: str, mapping: dict) -> list[str]:
    """The values a hypothesis can pick for a segment that splits by a property."""
    role = CATEGORY_ROLES.get(segment_key)
    ref = mapping.get(role) if role else None
    if not ref or ref.get("type") in NUMERIC or ref.get("type") == "timestamp":
        return []
    return list(ref.get("values") or [])


def describe_segment(segment: dict) -> str:
    """How a segment splits users, in plain words."""
    if "breakdown" in segment:
        return "split " + describe_breakdown(segment["breakdown"])
    buckets = segment["buckets"]
    if len(buckets) == 1:
        return f"{describe_criterion(buckets[0]['criterion'])}, against everyone else"
    return "first that applies: " + "; ".join(b["label"] for b in buckets) + \
        f"; else {segment['else']}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
