"""The explorer's forms: questions built with fields, not SQL (the console aside).

A condition is one subject (a user property, an event done or counted, a property of the
first event), an operator and a value, typed by the dataset's schema; "advanced" accepts
any criterion of definitions.md section 3 as JSON. Every definition is checked by
analytics.engine.definitions before a job is queued."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from analytics.engine import values
from analytics.engine.definitions import (
    OPERATORS,
    DefinitionError,
    validate_breakdown,
    validate_criterion,
)
from analytics.engine.storage import DatasetSchema
from analytics.engine.wording import operator_choices

LEGENDS = {"a": "Group A", "b": "Group B", "group": "The group", "filter": "Population",
           "by": "Buckets"}
OPERATOR_CHOICES = operator_choices(OPERATORS)


def subject_choices(schema: DatasetSchema | None, *, breakdown: bool = False) -> list:
    if schema is None:
        return []
    users = [(f"property:{n}", n) for n in sorted(schema.user_properties)]
    did = [(f"did:{e}", f"did {e}") for e in sorted(schema.events)]
    counts = [(f"count:{e}", f"number of {e}") for e in sorted(schema.events)]
    first = [(f"first:{p}", f"{p} of the first event") for p in sorted(schema.event_properties)]
    return [("", "—"), ("User properties", users), ("Events", did + counts),
            ("First event", first)]


def typed_value(text: str, value_type: str, op: str = "=") -> Any:
    """The value `op` takes, typed by the subject's type (analytics.engine.values)."""
    try:
        return values.parse_for_operator(text, value_type, op)
    except values.BadValue as bad:
        if bad.expected == "range":
            raise DefinitionError(bad.message) from None
        what = "a number" if bad.expected == "number" else "true or false"
        raise DefinitionError(f"{bad.text!r} is not {what}") from None


def build_criterion(schema: DatasetSchema, subject: str, op: str, value: str,
                    days: int | None) -> dict:
    """A criterion from the builder's fields (validated later, with the schema)."""
    kind, _, name = subject.partition(":")
    if kind == "did":
        node: dict[str, Any] = {"kind": "did_event", "event": name}
        if value.strip().lower() in ("no", "false", "0"):
            node["did"] = False
    elif kind == "count":
        node = {"kind": "event_count", "event": name, "op": op}
        value_type = "number"
    elif kind == "first":
        node = {"kind": "first_event_property", "property": name, "op": op}
        value_type = schema.event_properties.get(name, "text")
    elif kind == "property":
        node = {"kind": "property", "property": name, "op": op}
        value_type = schema.user_properties.get(name, "text")
    else:
        raise DefinitionError("choose what the condition is about")
    if kind in ("did", "count") and days:
        node["within_days"] = days
    if kind == "did":
        return node
    if op not in values.NO_VALUE_OPERATORS:
        node["value"] = typed_value(value, value_type, op)
    return node


def build_breakdown(subject: str, bins: str, days: int | None) -> dict:
    kind, _, name = subject.partition(":")
    if kind == "property":
        out: dict[str, Any] = {"property": name}
    elif kind == "first":
        out = {"metric": {"kind": "first_event_property", "property": name}}
    elif kind in ("count", "did"):
        metric: dict[str, Any] = {"kind": "event_count" if kind == "count" else "did_event",
                                  "event": name}
        if days:
            metric["within_days"] = days
        out = {"metric": metric}
    else:
        raise DefinitionError("choose what to break the users down by")
    if bins.strip():
        try:
            out["bins"] = values.parse_list(bins, "number")
        except values.BadValue:
            raise DefinitionError("bins are numbers separated by commas, e.g. 1, 3, 10") \
                from None
    return out


def _json(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise DefinitionError(f"the {what} is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise DefinitionError(f"the {what} must be a JSON object")
    return value


class WhereForm(forms.Form):
    """Which data and which success: a session's, or picked (outside a session)."""

    session = forms.IntegerField(required=False, widget=forms.HiddenInput)
    dataset = forms.ChoiceField(required=False, label="Dataset")
    success = forms.ChoiceField(required=False, label="Success definition")

    def __init__(self, *args, datasets=(), successes=(), in_session: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = [(d.pk, d.name) for d in datasets]
        self.fields["success"].choices = [(s.pk, str(s)) for s in successes]
        if in_session:
            del self.fields["dataset"]
            del self.fields["success"]


class _SchemaForm(forms.Form):
    """A question form whose choices come from one dataset's schema. Subclasses name their
    conditions (prefix, label, help) and breakdowns (prefix, label); `question()`
    turns the cleaned fields into validated definitions."""

    conditions: tuple[tuple[str, str, str], ...] = ()
    breakdowns: tuple[tuple[str, str], ...] = ()
    unsuccessful = forms.BooleanField(required=False,
                                      label="Read it for the unsuccessful users instead")

    def __init__(self, *args, schema: DatasetSchema | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema
        fields = {}
        for prefix, label in self.breakdowns:
            fields.update(_breakdown_fields(prefix, label))
        for prefix, label, help_text in self.conditions:
            fields.update(_condition_fields(prefix, label, help_text=help_text))
        fields["unsuccessful"] = self.fields.pop("unsuccessful")
        self.fields.update(fields)
        for name, field in self.fields.items():
            if name.endswith("_subject"):
                field.choices = subject_choices(schema)

    def groups(self) -> list[dict]:
        """The fields by part of the question, for the template: a legend, the builder's
        fields, and the JSON alternative (shown folded)."""
        parts = [(p, label) for p, label in self.breakdowns]
        parts += [(p, label) for p, label, _ in self.conditions]
        out = []
        for prefix, label in parts:
            names = [n for n in self.fields if n.startswith(f"{prefix}_") and n != f"{prefix}_json"]
            out.append({"legend": LEGENDS.get(prefix, label), "fields": [self[n] for n in names],
                        "json": self[f"{prefix}_json"]})
        return out

    def clean(self):
        data = super().clean()
        if self.schema is None:
            raise forms.ValidationError("Pick a dataset with imported data first.")
        data["question"] = self.question()
        return data

    def question(self) -> dict:
        raise NotImplementedError

    def condition(self, prefix: str, *, required: bool) -> dict | None:
        data = self.cleaned_data
        advanced = (data.get(f"{prefix}_json") or "").strip()
        try:
            if advanced:
                criterion = _json(advanced, "criterion")
            elif data.get(f"{prefix}_subject"):
                criterion = build_criterion(self.schema, data[f"{prefix}_subject"],
                                            data.get(f"{prefix}_op") or "=",
                                            data.get(f"{prefix}_value") or "",
                                            data.get(f"{prefix}_days"))
            elif required:
                raise DefinitionError("say which users: pick what the condition is about")
            else:
                return None
            return validate_criterion(criterion, self.schema)
        except DefinitionError as error:
            self.add_error(f"{prefix}_subject", str(error))
            return None

    def breakdown(self, prefix: str) -> dict | None:
        data = self.cleaned_data
        advanced = (data.get(f"{prefix}_json") or "").strip()
        try:
            if advanced:
                breakdown = _json(advanced, "breakdown")
            else:
                breakdown = build_breakdown(data.get(f"{prefix}_subject") or "",
                                            data.get(f"{prefix}_bins") or "",
                                            data.get(f"{prefix}_days"))
            return validate_breakdown(breakdown, self.schema)
        except DefinitionError as error:
            self.add_error(f"{prefix}_subject", str(error))
            return None


def _condition_fields(prefix: str, label: str, *, help_text: str = "") -> dict:
    return {
        f"{prefix}_subject": forms.ChoiceField(required=False, label=label, help_text=help_text),
        f"{prefix}_op": forms.ChoiceField(required=False, choices=OPERATOR_CHOICES,
                                          initial="=", label="is"),
        f"{prefix}_value": forms.CharField(
            required=False, max_length=1000, label="value",
            # static/js/values.js offers the chosen subject's values in the data.
            widget=forms.TextInput(attrs={"data-value-from": f"id_{prefix}_subject",
                                          "autocomplete": "off"}),
            help_text="Lists: comma-separated (in, between). For “did”: yes or no."),
        f"{prefix}_days": forms.IntegerField(required=False, min_value=1, max_value=36500,
                                             label="within days of first visit"),
        f"{prefix}_json": forms.CharField(
            required=False, max_length=20000, label="or as JSON (advanced)",
            widget=forms.Textarea(attrs={"rows": 2, "class": "mono"})),
    }


def _breakdown_fields(prefix: str, label: str) -> dict:
    return {
        f"{prefix}_subject": forms.ChoiceField(required=False, label=label),
        f"{prefix}_bins": forms.CharField(required=False, max_length=1000, label="bins",
                                          help_text="Optional, for numbers: e.g. 1, 3, 10"),
        f"{prefix}_days": forms.IntegerField(required=False, min_value=1, max_value=36500,
                                             label="within days of first visit"),
        f"{prefix}_json": forms.CharField(
            required=False, max_length=20000, label="or as JSON (advanced)",
            widget=forms.Textarea(attrs={"rows": 2, "class": "mono"})),
    }


class BreakdownForm(_SchemaForm):
    breakdowns = (("by", "Break down by"),)
    conditions = (("filter", "Only users where", "Optional: narrows the population."),)

    def question(self) -> dict:
        return {"breakdown": self.breakdown("by"),
                "population_filter": self.condition("filter", required=False)}


class CompareForm(_SchemaForm):
    conditions = (("a", "Group A: users where", ""),
                  ("b", "Group B: users where", ""),
                  ("filter", "Among users where", "Optional, e.g. plan = pro."))

    def question(self) -> dict:
        return {"group_a": self.condition("a", required=True),
                "group_b": self.condition("b", required=True),
                "population_filter": self.condition("filter", required=False)}


class StratifyForm(_SchemaForm):
    conditions = (("group", "The group: users where", ""),
                  ("filter", "Among users where", "Optional."))
    breakdowns = (("by", "Check within each"),)

    def question(self) -> dict:
        return {"criterion": self.condition("group", required=True),
                "strata": self.breakdown("by"),
                "population_filter": self.condition("filter", required=False)}


class ConsoleForm(forms.Form):
    sql = forms.CharField(
        label="SQL (one SELECT over events, users, per_user)", max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"}),
        initial="SELECT event, count(*) AS events, count(DISTINCT _uid) AS users\n"
                "FROM events\nGROUP BY ALL ORDER BY events DESC")


class FindingForm(forms.Form):
    KIND_CHOICES = [("insight", "Finding"), ("unsuccessful", "Unsuccessful (still worth knowing)"),
                    ("question", "Open question")]
    text = forms.CharField(label="What did you find?", max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="insight", label="Kind")
