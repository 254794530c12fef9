"""The column-role mapping: which event is the login, which property is the order value,
which column is the device... guessed from the schema's names and the profiled values
(analytics.engine.trends.dataset_profile), then confirmed by the team once per dataset.

A mapping is a plain dict of roles (ROLES below):
    event roles      "login_event": "login"
    events roles     "core_events": ["create_project", "export"]
    property roles   "device": {"scope": "event", "name": "device", "type": "text",
                                "values": ["desktop", "mobile", "tablet"]}
    values roles     "mobile_values": ["mobile"]
    bins roles       "order_value_bins": [20, 50, 100]
so that a catalog segment can be built from the mapping alone (segments.catalog)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from analytics.engine.storage import DatasetSchema

NUMERIC = ("integer", "float")
VETO = -1000
MAX_VALUES = 25


@dataclass(frozen=True)
class Role:
    key: str
    label: str
    kind: str  # "event", "events", "property", "values", "bins"
    group: str
    help: str = ""
    names: tuple[str, ...] = ()  # name hints, normalized (snake_case)
    types: tuple[str, ...] = ()  # property types that fit; empty = any
    scope: str = "any"  # property roles: where to look ("user", "event", "any")
    prefer: str = "user"  # when a user and an event property both fit


ROLES: tuple[Role, ...] = (
    # -- what people do
    Role("signup_event", "Signup", "event", "Events", "the event of creating an account",
         names=("signup", "sign_up", "register", "registration", "create_account",
                "account_created", "user_created", "user_signed_up")),
    Role("login_event", "Login", "event", "Events", "a returning visit to the product",
         names=("login", "log_in", "logged_in", "signin", "sign_in", "signed_in",
                "session_start", "app_open", "open_app", "app_opened")),
    Role("order_event", "Order", "event", "Events", "a purchase or a completed order",
         names=("purchase", "order", "order_completed", "order_placed", "checkout",
                "checkout_completed", "completed_order", "transaction", "buy", "payment",
                "purchased", "sale")),
    Role("order_value", "Order value", "property", "Events",
         "the amount of an order (a number on the order event)",
         names=("amount", "value", "revenue", "total", "price", "sales_value", "order_value",
                "order_total", "sales", "spend", "order_amount", "total_price"),
         types=NUMERIC, scope="event"),
    Role("order_id", "Order id", "property", "Events",
         "the id of an order, when each order is split into several lines",
         names=("order_id", "basket_id", "transaction_id", "cart_id", "invoice_id",
                "receipt_id", "invoice", "basket"), scope="event"),
    Role("core_events", "Key product actions", "events", "Events",
         "the actions that show someone adopted the product (for product adoption)"),
    Role("feature_event", "Feature to watch", "event", "Events",
         "one feature whose usage matters (for specific feature usage)"),
    Role("integration_event", "Integration connected", "event", "Events",
         "connecting another tool or app",
         names=("connect_integration", "integration_connected", "integration_added",
                "install_integration", "app_installed", "install_app", "connect_app",
                "add_integration", "integration")),
    Role("stage_events", "Application stages", "events", "Events",
         "the steps of an application, earliest first (for application stage)"),
    # -- what we know about them
    Role("plan", "Plan", "property", "Accounts", "the plan or tier an account is on",
         names=("plan", "plan_type", "plan_name", "tier", "subscription", "subscription_plan",
                "pricing_plan", "package")),
    Role("visitor_type", "New or returning", "property", "Accounts",
         "a column that says new or returning visitor",
         names=("visitor_type", "new_or_returning", "customer_type", "new_visitor",
                "returning_visitor", "visitor")),
    Role("prior_count", "Earlier contacts or attempts", "property", "Accounts",
         "how often the person came before (for returning customers)",
         names=("previous", "prev", "prior", "num_of_prev_attempts", "previous_purchases",
                "prior_orders", "previous_orders", "prev_attempts", "previous_contacts"),
         types=NUMERIC),
    Role("guest", "Guest checkout", "property", "Accounts",
         "whether an order was placed as a guest",
         names=("guest_checkout", "guest", "is_guest", "checkout_type", "guest_order")),
    Role("application_stage", "Application stage", "property", "Accounts",
         "the stage an application reached",
         names=("application_stage", "stage", "final_stage", "funnel_stage",
                "application_status", "application_state")),
    Role("policy_count", "Number of policies", "property", "Accounts",
         "how many policies or products a customer holds",
         names=("policy_count", "policies", "num_policies", "n_policies", "number_of_policies",
                "products_held", "num_products", "number_of_products", "product_count"),
         types=NUMERIC),
    Role("age", "Age", "property", "Demographics", "age in years or an age band",
         names=("age", "age_band", "age_group", "age_range", "ageband", "age_bracket")),
    Role("age_bins", "Age bins", "bins", "Demographics", "where numeric ages are cut"),
    Role("gender", "Gender", "property", "Demographics", names=("gender", "sex")),
    Role("education", "Education", "property", "Demographics",
         names=("education", "highest_education", "education_level", "degree",
                "schooling", "qualification")),
    Role("location", "Location", "property", "Demographics",
         "country, region or city",
         names=("country", "country_code", "region", "city", "state", "location", "geo",
                "territory", "market", "nation", "province")),
    Role("device", "Device", "property", "Technographics",
         "the device, platform or operating system",
         names=("device", "device_type", "devicetype", "platform", "os", "operating_system",
                "operating_systems", "device_category", "browser", "user_agent")),
    Role("mobile_values", "Mobile values", "values", "Technographics",
         "the device values that mean mobile"),
    Role("desktop_values", "Desktop values", "values", "Technographics",
         "the device values that mean desktop"),
    Role("tool", "3rd-party tool", "property", "Technographics",
         "which other tool or app was connected",
         names=("tool", "integration", "integration_name", "provider", "app_name",
                "connector", "third_party_tool", "source_app", "tool_name")),
    Role("company_size", "Company size", "property", "Firmographics",
         "employees or a size band",
         names=("company_size", "employees", "employee_count", "num_employees",
                "number_of_employees", "headcount", "org_size", "organization_size",
                "organisation_size", "company_employees", "business_size")),
    Role("company_size_bins", "Company size bins", "bins", "Firmographics",
         "where numeric company sizes are cut"),
    Role("organization_type", "Organization type", "property", "Firmographics",
         "industry, sector or kind of organization",
         names=("organization_type", "organisation_type", "org_type", "company_type",
                "business_type", "industry", "sector", "vertical")),
    Role("ownership", "Ownership", "property", "Firmographics",
         "private, public, nonprofit...",
         names=("ownership", "ownership_type", "owner_type", "company_ownership")),
    Role("growth_trend", "Growth trend", "property", "Firmographics",
         "whether the company grows",
         names=("growth_trend", "growth", "trend", "headcount_growth", "employee_growth",
                "revenue_growth", "growth_stage")),
    Role("order_value_bins", "Order value bins", "bins", "Events",
         "where average order values are cut"),
)
ROLES_BY_KEY = {role.key: role for role in ROLES}

DEFAULT_AGE_BINS = [18, 25, 35, 45, 55, 65]
DEFAULT_COMPANY_SIZE_BINS = [11, 51, 201, 1001]

# Words in values that tell what a device column holds.
MOBILE_WORDS = ("mobile", "phone", "iphone", "android", "ios", "cellular", "smartphone")
DESKTOP_WORDS = ("desktop", "windows", "mac", "macos", "linux", "pc", "computer", "laptop",
                 "osx", "chromeos")
GENDER_WORDS = ("female", "male", "f", "m", "woman", "man", "women", "men", "nonbinary",
                "non_binary", "other")
EDUCATION_WORDS = ("school", "bachelor", "master", "doctor", "phd", "university", "degree",
                   "college", "diploma", "secondary", "primary", "tertiary", "he", "a_level",
                   "basic", "illiterate", "high")
# Words in event names that say "a person did something in the product".
ACTION_WORDS = ("create", "invite", "share", "export", "upload", "publish", "connect", "add",
                "save", "edit", "comment", "download", "import", "send", "build", "run",
                "complete", "schedule", "report", "integrate")
# Shopping steps are not product features, even when their names hold an action word.
NOT_FEATURE_WORDS = ("cart", "checkout", "pricing", "purchase", "order", "payment")
GENERIC_EVENTS = ("page_view", "pageview", "screen_view", "view", "session_start", "heartbeat",
                  "identify", "track", "click")
STAGE_WORDS = ("submit", "accept", "approv", "final", "regist", "activat", "review",
               "underwrit", "quote", "apply", "application", "verif")
NEGATIVE_STAGE_WORDS = ("declin", "cancel", "reject", "denied", "withdraw", "fail", "lost")
EXCLUDED_NAMES = {
    # A household's home is not a company's ownership; a household is not a company.
    "ownership": ("home_ownership", "homeownership", "home_owner"),
    "company_size": ("household_size", "family_size", "basket_size", "package_size"),
    "location": ("store_id", "region_code_unknown"),
}


def normalize(name: str) -> str:
    """snake_case words of a column name: "VisitorType" -> "visitor_type"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def _tokens(name: str) -> list[str]:
    return [t for t in normalize(name).split("_") if t]


def _name_score(name: str, hints: tuple[str, ...]) -> int:
    """100 for a hint spelled exactly, 70 for a hint's words inside the name, 0 otherwise."""
    norm = normalize(name)
    if not hints:
        return 0
    if norm in hints:
        return 100 - min(hints.index(norm), 20)
    words = _tokens(name)
    best = 0
    for position, hint in enumerate(hints):
        parts = hint.split("_")
        for i in range(len(words) - len(parts) + 1):
            if words[i:i + len(parts)] == parts:
                best = max(best, 70 - min(position, 20))
    return best


@dataclass
class Guess:
    value: Any
    reason: str


# ---------------------------------------------------------------- property references


def property_ref(scope: str, name: str, schema: DatasetSchema, profile: dict | None) -> dict:
    kind = (schema.user_properties if scope == "user" else schema.event_properties)[name]
    ref: dict[str, Any] = {"scope": scope, "name": name, "type": kind}
    info = _info(profile, scope, name)
    if info.get("top"):
        ref["values"] = [label for label, _ in info["top"]][:MAX_VALUES]
    if scope == "event" and info.get("events"):
        ref["events"] = list(info["events"])[:10]
    return ref


def ref_code(ref: dict | None) -> str:
    """The form's spelling of a property reference: "user:plan", "event:device"."""
    return f"{ref['scope']}:{ref['name']}" if ref else ""


def ref_from_code(code: str, schema: DatasetSchema, profile: dict | None) -> dict | None:
    if not code:
        return None
    scope, _, name = code.partition(":")
    properties = schema.user_properties if scope == "user" else schema.event_properties
    if scope not in ("user", "event") or name not in properties:
        raise ValueError(f"unknown property {code!r}")
    return property_ref(scope, name, schema, profile)


def _info(profile: dict | None, scope: str, name: str) -> dict:
    if not profile:
        return {}
    return profile.get(f"{scope}_properties", {}).get(name) or {}


def _candidates(schema: DatasetSchema, scope: str) -> list[tuple[str, str, str]]:
    out = []
    if scope in ("user", "any"):
        out += [("user", name, kind) for name, kind in schema.user_properties.items()]
    if scope in ("event", "any"):
        out += [("event", name, kind) for name, kind in schema.event_properties.items()]
    return out


def _values(info: dict) -> list[str]:
    return [str(label) for label, _ in info.get("top") or []]


def _words_in(values: list[str], words: tuple[str, ...]) -> list[str]:
    """The values with a word that starts like one of `words` ("Windows 10", "iPhone")."""
    found = []
    for value in values:
        tokens = _tokens(value)
        if any(token.startswith(word) for token in tokens for word in words):
            found.append(value)
    return found


def _value_score(role: Role, kind: str, info: dict) -> tuple[int, str]:
    """A bonus (or a veto below 0) from what the values look like."""
    values = _values(info)
    if role.key == "device" and values:
        mobile, desktop = _words_in(values, MOBILE_WORDS), _words_in(values, DESKTOP_WORDS)
        if mobile or desktop:
            return 40, "values like " + ", ".join((mobile + desktop)[:4])
        if kind in NUMERIC:
            return -30, ""
    if role.key == "gender" and values:
        if len(_words_in(values, GENDER_WORDS)) >= min(2, len(values)):
            return 20, "values like " + ", ".join(values[:3])
        return VETO, ""
    if role.key == "education" and values and _words_in(values, EDUCATION_WORDS):
        return 20, "values like " + ", ".join(values[:3])
    if role.key == "age":
        if kind in NUMERIC:
            low, high = info.get("min"), info.get("max")
            if low is not None and high is not None and not (0 <= low and high <= 125):
                return VETO, ""
            return 10, "numbers"
        if values and not any(re.search(r"\d", v) for v in values):
            return VETO, ""
        return (10, "bands like " + ", ".join(values[:3])) if values else (0, "")
    if role.key in ("guest", "visitor_type") and values:
        lowered = " ".join(values).lower()
        if kind == "boolean" or "guest" in lowered or "new" in lowered or "return" in lowered:
            return 15, "values like " + ", ".join(values[:3])
    if role.key == "location" and kind in ("boolean", "timestamp"):
        return VETO, ""
    return 0, ""


def _guess_property(role: Role, schema: DatasetSchema, profile: dict | None,
                    taken: set[tuple[str, str]]) -> Guess:
    best: tuple[int, str, str, str] | None = None
    for scope, name, kind in _candidates(schema, role.scope):
        if normalize(name) in EXCLUDED_NAMES.get(role.key, ()):
            continue
        if role.types and kind not in role.types:
            continue
        score = _name_score(name, role.names)
        bonus, why = _value_score(role, kind, _info(profile, scope, name))
        if bonus == VETO:
            continue  # the values say it is something else
        if score == 0 and not (role.key == "device" and bonus > 0):
            continue
        score += bonus + (5 if scope == role.prefer else 0)
        if (scope, name) in taken:
            score -= 25
        if score <= 0:
            continue
        reason = f"the {'users' if scope == 'user' else 'events'}' column “{name}”"
        if why:
            reason += f" ({why})"
        if best is None or score > best[0]:
            best = (score, scope, name, reason)
    if best is None:
        return Guess(None, f"no column looks like {role.label.lower()}")
    _, scope, name, reason = best
    return Guess(property_ref(scope, name, schema, profile), reason)


def _guess_event(role: Role, schema: DatasetSchema, taken: set[str]) -> Guess:
    best: tuple[int, str] | None = None
    for name, count in schema.events.items():
        score = _name_score(name, role.names)
        if score == 0 or name in taken:
            continue
        score += min(int(math.log10(count + 1)), 9)  # more frequent wins a tie
        if best is None or score > best[0]:
            best = (score, name)
    if best is None:
        return Guess(None, f"no event looks like {role.label.lower()}")
    return Guess(best[1], f"an event named “{best[1]}”")


def _is_action(name: str) -> bool:
    norm = normalize(name)
    if norm in GENERIC_EVENTS or any(w in norm for w in NOT_FEATURE_WORDS):
        return False
    # A word of the name is an action word, maybe inflected ("created", "exports").
    return any(_stem(token) == word or token == word
               for token in _tokens(name) for word in ACTION_WORDS)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# ---------------------------------------------------------------- the guess


def guess_mapping(schema: DatasetSchema, profile: dict | None = None) -> dict[str, Guess]:
    """A guess for every role, each with a reason a person can check."""
    guesses: dict[str, Guess] = {}
    taken_events: set[str] = set()
    for key in ("signup_event", "login_event", "order_event", "integration_event"):
        guess = _guess_event(ROLES_BY_KEY[key], schema, taken_events)
        guesses[key] = guess
        if guess.value:
            taken_events.add(guess.value)

    guesses["stage_events"] = _guess_stages(schema)
    taken_events.update(guesses["stage_events"].value)
    actions = [name for name, _ in sorted(schema.events.items(), key=lambda kv: -kv[1])
               if _is_action(name) and name not in taken_events]
    if actions:
        guesses["core_events"] = Guess(actions[:3], "the most frequent product actions: "
                                       + ", ".join(actions[:3]))
        guesses["feature_event"] = Guess(actions[0], f"the most frequent product action, "
                                                     f"“{actions[0]}”")
    else:
        guesses["core_events"] = Guess([], "no event looks like a product action "
                                           "(create, invite, export...)")
        guesses["feature_event"] = Guess(None, "no event looks like a product feature")

    taken: set[tuple[str, str]] = set()
    for role in ROLES:
        if role.kind != "property":
            continue
        if role.key == "order_value":
            guess = _guess_order_value(role, schema, profile, guesses["order_event"].value)
        else:
            guess = _guess_property(role, schema, profile, taken)
        guesses[role.key] = guess
        if guess.value:
            taken.add((guess.value["scope"], guess.value["name"]))

    guesses.update(_guess_device_values(guesses["device"].value))
    guesses["age_bins"] = Guess(list(DEFAULT_AGE_BINS), "the usual age bands")
    guesses["company_size_bins"] = Guess(list(DEFAULT_COMPANY_SIZE_BINS),
                                         "the usual company-size bands")
    guesses["order_value_bins"] = _guess_order_bins(guesses["order_value"].value,
                                                    guesses["order_event"].value, profile)
    return {role.key: guesses[role.key] for role in ROLES}


def _guess_order_value(role: Role, schema: DatasetSchema, profile: dict | None,
                       order_event: str | None) -> Guess:
    if order_event is None:
        return Guess(None, "no order event, so no order value")
    guess = _guess_property(role, schema, profile, set())
    if guess.value and profile:
        on = _info(profile, "event", guess.value["name"]).get("events", {})
        if on and order_event not in on:
            return Guess(None, f"“{guess.value['name']}” is never set on “{order_event}”")
    return guess


def _guess_stages(schema: DatasetSchema) -> Guess:
    stages = [name for name, _ in sorted(schema.events.items(), key=lambda kv: (-kv[1], kv[0]))
              if any(w in normalize(name) for w in STAGE_WORDS)
              and not any(w in normalize(name) for w in NEGATIVE_STAGE_WORDS)]
    if len(stages) < 2:
        return Guess([], "no events look like application stages (submitted, approved...)")
    # Fewer people reach each later stage, so the most frequent comes first.
    return Guess(stages[:5], "events that look like steps of an application, earliest "
                             "(most frequent) first")


def _guess_device_values(device: dict | None) -> dict[str, Guess]:
    if device is None:
        reason = "no device column"
        return {"mobile_values": Guess([], reason), "desktop_values": Guess([], reason)}
    values = device.get("values") or []
    if not values:
        reason = "the device column's values are not known yet"
        return {"mobile_values": Guess([], reason), "desktop_values": Guess([], reason)}
    mobile = _words_in(values, MOBILE_WORDS)
    desktop = [v for v in _words_in(values, DESKTOP_WORDS) if v not in mobile]
    return {
        "mobile_values": Guess(mobile, f"values that say mobile: {', '.join(mobile)}" if mobile
                               else f"no value of “{device['name']}” says mobile"),
        "desktop_values": Guess(desktop, f"values that say desktop: {', '.join(desktop)}"
                                if desktop else f"no value of “{device['name']}” says desktop"),
    }


def nice_bins(quantiles: list[float | None]) -> list[float]:
    """Cut points rounded to two significant digits, kept strictly increasing."""
    out: list[float] = []
    for q in quantiles:
        if q is None or q <= 0:
            continue
        digits = 1 - math.floor(math.log10(q))
        nice = round(q, digits)
        nice = int(nice) if float(nice).is_integer() else nice
        if not out or nice > out[-1]:
            out.append(nice)
    return out


def _guess_order_bins(value: dict | None, order_event: str | None,
                      profile: dict | None) -> Guess:
    if value is None or order_event is None:
        return Guess([], "no order value")
    info = _info(profile, "event", value["name"])
    quantiles = (info.get("quantiles_by_event") or {}).get(order_event) or info.get("quantiles")
    bins = nice_bins(quantiles or [])
    if len(bins) < 2:
        return Guess([], "set where to cut order values once the data has been profiled")
    return Guess(bins, "round numbers near the quartiles of " + value["name"])


def roles_from_guesses(guesses: dict[str, Guess]) -> dict:
    """The mapping a team starts from: every guess taken as it is."""
    return {key: guess.value for key, guess in guesses.items()}


def check_roles(roles: dict, schema: DatasetSchema) -> dict[str, str]:
    """Problems of a mapping against the schema (a name the data no longer has), by role."""
    problems: dict[str, str] = {}
    for role in ROLES:
        value = roles.get(role.key)
        if not value:
            continue
        if role.kind == "event" and value not in schema.events:
            problems[role.key] = f"the data has no event “{value}”"
        elif role.kind == "events":
            missing = [v for v in value if v not in schema.events]
            if missing:
                problems[role.key] = "the data has no event " + ", ".join(f"“{m}”" for m in missing)
        elif role.kind == "property":
            where = schema.user_properties if value["scope"] == "user" else schema.event_properties
            if where.get(value["name"]) != value.get("type"):
                problems[role.key] = f"the data has no {value['scope']} property “{value['name']}”"
    return problems
