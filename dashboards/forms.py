"""Forms of Phase 1. They turn fields into the JSON the engine speaks (definitions.md)
and check it against the dataset's schema; the writes happen in services."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from analytics.engine import values
from analytics.engine.definitions import DefinitionError, validate_success
from analytics.engine.storage import DatasetSchema
from analytics.engine.wording import format_value, operator_choices
from analytics.models import Dataset, SuccessDefinition
from segments import mapping_rules
from segments import roles as segment_roles

from .models import ReviewNote

NONE_CHOICE = ("", "— not in this data —")
OPERATORS = operator_choices(("=", "!=", ">", ">=", "<", "<=", "in", "contains", "is_set",
                              "is_not_set"))


def parse_bins(text: str) -> list[float]:
    """ "18, 25, 35" -> [18, 25, 35]; refuses what is not increasing numbers."""
    try:
        numbers = values.parse_list((text or "").replace(";", ","), "number")
    except values.BadValue as bad:
        raise forms.ValidationError(bad.message) from None
    # A cut point is shown in the bucket labels: 3.0 reads as 3.
    cuts = [int(n) if isinstance(n, float) and n.is_integer() else n for n in numbers]
    if any(a >= b for a, b in zip(cuts, cuts[1:], strict=False)):
        raise forms.ValidationError("Write the cut points in increasing order.")
    return cuts


def parse_value(text: str, kind: str, op: str) -> Any:
    """A typed value for a property of type `kind` from what a person typed."""
    try:
        return values.parse_for_operator(text, kind, op)
    except values.BadValue as bad:
        raise forms.ValidationError(
            "Write true or false." if bad.expected == "boolean" else bad.message) from None


def _property_choices(schema: DatasetSchema, role: segment_roles.Role) -> list:
    groups = []
    if role.scope in ("user", "any"):
        users = [(f"user:{n}", f"{n} ({t})") for n, t in schema.user_properties.items()
                 if not role.types or t in role.types]
        if users:
            groups.append(("Users' columns", users))
    if role.scope in ("event", "any"):
        events = [(f"event:{n}", f"{n} ({t}, on events)")
                  for n, t in schema.event_properties.items()
                  if not role.types or t in role.types]
        if events:
            groups.append(("Events' columns", events))
    return [NONE_CHOICE, *groups]


class MappingForm(forms.Form):
    """One field per mapping role, pre-filled with the roles (guessed or confirmed)."""

    def __init__(self, *args, schema: DatasetSchema, profile: dict | None, roles: dict,
                 guesses: dict, disabled: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema, self.profile = schema, profile
        events = [(name, f"{name} ({count:,})") for name, count in schema.events.items()]
        self.groups: dict[str, list[str]] = {}
        for role in segment_roles.ROLES:
            guess = guesses.get(role.key) or {}
            help_text = role.help
            if guess.get("reason"):
                help_text = (help_text + ". " if help_text else "") + f"Guess: {guess['reason']}."
            current = roles.get(role.key)
            if role.kind == "event":
                field = forms.ChoiceField(choices=[NONE_CHOICE, *events], required=False)
                initial = current or ""
            elif role.kind == "events":
                field = forms.MultipleChoiceField(choices=events, required=False,
                                                  widget=forms.CheckboxSelectMultiple)
                initial = list(current or [])
            elif role.kind == "property":
                field = forms.ChoiceField(choices=_property_choices(schema, role),
                                          required=False)
                initial = segment_roles.ref_code(current)
            else:
                field = forms.CharField(required=False, max_length=500)
                initial = ", ".join(mapping_format(v) for v in current or [])
                if role.kind == "values":
                    help_text += " (separate with commas)"
            needs = mapping_rules.required_note(role.key)
            if needs:
                help_text = (help_text.rstrip(".") + ". " if help_text else "") + needs
            field.label = role.label
            field.help_text = help_text
            field.initial = initial
            # A member reads a confirmed mapping; only owners change it.
            field.disabled = disabled
            self.fields[role.key] = field
            self.groups.setdefault(role.group, []).append(role.key)

    def grouped(self) -> list[tuple[str, list]]:
        return [(group, [self[key] for key in keys]) for group, keys in self.groups.items()]

    def clean(self) -> dict:
        data = super().clean()
        roles: dict[str, Any] = {}
        counts = self.schema.events
        for role in segment_roles.ROLES:
            value = data.get(role.key)
            try:
                if role.kind == "event":
                    roles[role.key] = value or None
                elif role.kind == "events":
                    # Most users first: for stages, the earliest step comes first.
                    roles[role.key] = sorted(value or [], key=lambda e: (-counts.get(e, 0), e))
                elif role.kind == "property":
                    roles[role.key] = segment_roles.ref_from_code(value or "", self.schema,
                                                                  self.profile)
                elif role.kind == "bins":
                    roles[role.key] = parse_bins(value or "")
                else:
                    roles[role.key] = [v.strip() for v in (value or "").split(",") if v.strip()]
            except (forms.ValidationError, ValueError) as error:
                self.add_error(role.key, error if isinstance(error, forms.ValidationError)
                               else str(error))
        data["roles"] = roles
        return data


def mapping_format(value: Any) -> str:
    return format_value(value)


class DashboardForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name",
                           widget=forms.TextInput(attrs={"placeholder": "Activation by segment"}))
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), label="Dataset",
                                     empty_label=None)
    success_definition = forms.ModelChoiceField(
        queryset=SuccessDefinition.objects.none(), label="Success", empty_label=None,
        help_text="What counts as success; a later edit of it shows on the charts.")

    def __init__(self, *args, datasets, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets
        self.fields["success_definition"].queryset = definitions
        self.fields["success_definition"].label_from_instance = (
            lambda d: f"{d.name} — {d.description}" if d.description else d.name)


class SuccessDefinitionForm(forms.Form):
    """Fields for definitions.md section 2, written as JSON in clean()."""

    BASIS = [("events", "People did an event"), ("property", "A user property says so")]
    MATCH = [("any", "any of these events"), ("all", "each of these events")]

    name = forms.CharField(max_length=120, label="Name",
                           widget=forms.TextInput(attrs={"placeholder": "Subscribed within 14 days"}))
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), empty_label=None,
                                     label="Check against the dataset",
                                     help_text="Event and property names come from it.")
    basis = forms.ChoiceField(choices=BASIS, widget=forms.RadioSelect, initial="events",
                              label="Success is when")
    events = forms.MultipleChoiceField(choices=(), required=False, label="Events",
                                       widget=forms.CheckboxSelectMultiple)
    match = forms.ChoiceField(choices=MATCH, initial="any", label="Users who did",
                              widget=forms.RadioSelect)
    within_days = forms.IntegerField(required=False, min_value=1, max_value=36500,
                                     label="Within days of their first visit",
                                     help_text="Leave empty for any time.")
    complete_windows = forms.BooleanField(
        required=False, initial=True, label="Leave out users whose window is not over yet",
        help_text="Recommended: someone who arrived yesterday cannot have succeeded within "
                  "14 days yet.")
    where_property = forms.ChoiceField(choices=(), required=False,
                                       label="Only events where")
    where_op = forms.ChoiceField(choices=OPERATORS, required=False, label="Operator")
    # static/js/values.js offers the chosen property's values in the data.
    where_value = forms.CharField(required=False, max_length=200, label="Value",
                                  widget=forms.TextInput(attrs={
                                      "data-value-from": "event:id_where_property",
                                      "autocomplete": "off"}))
    property = forms.ChoiceField(choices=(), required=False, label="User property")
    property_op = forms.ChoiceField(choices=OPERATORS, required=False, label="Operator")
    property_value = forms.CharField(required=False, max_length=200, label="Value",
                                     widget=forms.TextInput(attrs={
                                         "data-value-from": "user:id_property",
                                         "autocomplete": "off"}))

    def __init__(self, *args, datasets, dataset: Dataset | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets
        self.schema = dataset.schema_object() if dataset is not None else None
        self.definition: dict | None = None
        # Events are needed unless success comes from a user property.
        self.fields["events"].required = self.data.get("basis") != "property"
        if self.schema is not None:
            self.fields["events"].choices = [(e, e) for e in self.schema.events]
            self.fields["where_property"].choices = [("", "— any event —")] + [
                (p, p) for p in self.schema.event_properties]
            self.fields["property"].choices = [("", "—")] + [
                (p, p) for p in self.schema.user_properties]

    @staticmethod
    def initial_from(definition: dict) -> dict:
        """Form fields from a saved definition, for editing it."""
        if "property" in definition:
            value = definition.get("value")
            return {"basis": "property", "property": definition["property"],
                    "property_op": definition["op"],
                    "property_value": ", ".join(map(str, value)) if isinstance(value, list)
                    else ("" if value is None else str(value).lower()
                          if isinstance(value, bool) else str(value))}
        initial = {"basis": "events", "events": definition.get("events", []),
                   "match": definition.get("match", "any"),
                   "within_days": definition.get("within_days"),
                   "complete_windows": definition.get("complete_windows", True)}
        where = (definition.get("where") or [None])[0]
        if where:
            value = where.get("value")
            initial.update(where_property=where["property"], where_op=where["op"],
                           where_value=", ".join(map(str, value)) if isinstance(value, list)
                           else "" if value is None else str(value).lower()
                           if isinstance(value, bool) else str(value))
        return initial

    def clean(self) -> dict:
        data = super().clean()
        if self.schema is None or self.errors:
            return data
        try:
            if data.get("basis") == "property":
                name = data.get("property")
                if not name:
                    raise forms.ValidationError("Pick the user property.")
                op = data.get("property_op") or "="
                definition: dict = {"property": name, "op": op}
                value = parse_value(data.get("property_value", ""),
                                    self.schema.user_properties[name], op)
                if value is not None:
                    definition["value"] = value
            else:
                definition = {"events": data["events"], "match": data.get("match") or "any"}
                if data.get("within_days"):
                    definition["within_days"] = data["within_days"]
                    if not data.get("complete_windows"):
                        definition["complete_windows"] = False
                if data.get("where_property"):
                    name = data["where_property"]
                    op = data.get("where_op") or "="
                    condition: dict = {"property": name, "op": op}
                    value = parse_value(data.get("where_value", ""),
                                        self.schema.event_properties[name], op)
                    if value is not None:
                        condition["value"] = value
                    definition["where"] = [condition]
            self.definition = validate_success(definition, self.schema)
        except forms.ValidationError as error:
            self.add_error(None, error)
        except DefinitionError as error:
            self.add_error(None, str(error))
        return data


class TeamSegmentForm(forms.Form):
    KINDS = [
        ("property", "Split by a user property"),
        ("event_count", "Split by how often users did an event"),
        ("did_event", "Users who did an event, against everyone else"),
        ("first_event_property", "Split by a property of the user's first event"),
        ("json", "Advanced: a segment written as JSON"),
    ]
    name = forms.CharField(max_length=120)
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), empty_label=None,
                                     label="Check against the dataset")
    kind = forms.ChoiceField(choices=KINDS, widget=forms.RadioSelect, initial="property",
                             label="How it splits users")
    property = forms.ChoiceField(choices=(), required=False, label="User property")
    event = forms.ChoiceField(choices=(), required=False, label="Event")
    event_property = forms.ChoiceField(choices=(), required=False, label="Event property")
    within_days = forms.IntegerField(required=False, min_value=1, max_value=36500,
                                     label="In the first … days", initial=7)
    bins = forms.CharField(required=False, max_length=300, label="Cut at (numbers only)",
                           help_text="e.g. 1, 3, 10 gives < 1, 1-3, 3-10, >= 10.")
    definition_json = forms.CharField(required=False, label="JSON",
                                      widget=forms.Textarea(attrs={"rows": 5}),
                                      help_text='{"breakdown": {...}}, {"criterion": {...}, '
                                                '"label": "..."} or {"buckets": [...]}')

    def __init__(self, *args, datasets, dataset: Dataset | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = datasets
        schema = dataset.schema_object() if dataset is not None else None
        self.definition: dict | None = None
        if schema is not None:
            self.fields["property"].choices = [("", "—")] + [
                (p, f"{p} ({t})") for p, t in schema.user_properties.items()]
            self.fields["event"].choices = [("", "—")] + [(e, e) for e in schema.events]
            self.fields["event_property"].choices = [("", "—")] + [
                (p, f"{p} ({t})") for p, t in schema.event_properties.items()]

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        kind = data.get("kind")
        try:
            bins = parse_bins(data.get("bins", ""))
            days = data.get("within_days")
            if kind == "json":
                definition = json.loads(data.get("definition_json") or "")
                if not isinstance(definition, dict):
                    raise forms.ValidationError("The JSON must be an object.")
                self.definition = definition
                return data
            if kind == "property":
                if not data.get("property"):
                    raise forms.ValidationError("Pick the user property.")
                breakdown: dict = {"property": data["property"]}
            elif kind == "first_event_property":
                if not data.get("event_property"):
                    raise forms.ValidationError("Pick the event property.")
                breakdown = {"metric": {"kind": "first_event_property",
                                        "property": data["event_property"]}}
            else:
                if not data.get("event"):
                    raise forms.ValidationError("Pick the event.")
                measure: dict = {"kind": kind, "event": data["event"]}
                if days:
                    measure["within_days"] = days
                if kind == "did_event":
                    self.definition = {"criterion": measure}
                    return data
                if not bins:
                    bins = [1, 3, 10]
                breakdown = {"metric": measure}
            if bins:
                breakdown["bins"] = bins
            self.definition = {"breakdown": breakdown}
        except json.JSONDecodeError as error:
            self.add_error("definition_json", f"Not JSON: {error.msg} (line {error.lineno}).")
        except forms.ValidationError as error:
            self.add_error(None, error)
        return data


class NoteForm(forms.Form):
    week = forms.DateField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=ReviewNote.Kind.choices, initial=ReviewNote.Kind.INSIGHT,
                             widget=forms.RadioSelect, label="This is")
    about = forms.ChoiceField(choices=(), required=False, label="About")
    text = forms.CharField(max_length=2000, label="What the team sees or learned",
                           widget=forms.Textarea(attrs={"rows": 3, "placeholder":
                                                        "e.g. Mobile signups convert less since "
                                                        "the new onboarding; check with design."}))

    def __init__(self, *args, about_choices: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["about"].choices = [("", "The whole dashboard"), *about_choices]

    def about_parts(self) -> tuple[str, str]:
        about = self.cleaned_data.get("about") or ""
        key, _, bucket = about.partition("|")
        return key, bucket
