"""Forms of the session pages. They only shape input; every rule is in services."""

from __future__ import annotations

from django import forms

from accounts.models import Team
from accounts.selectors import members_of
from analytics.selectors import ready_datasets_of, success_definitions_of

from .models import (
    DEFAULT_DIG_DURATION,
    DEFAULT_DOTS_PER_MEMBER,
    MAX_DOTS_PER_MEMBER,
    Finding,
    Hypothesis,
    NextStep,
)
from .steps import Step

DIG_MINUTES_HELP = "How long “Test and learn” lasts. The server keeps the time."


class SessionCreateForm(forms.Form):
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={
        "placeholder": "What makes trial users subscribe?", "autofocus": True}))
    dataset = forms.ModelChoiceField(queryset=None, empty_label=None)
    success_definition = forms.ModelChoiceField(
        queryset=None, empty_label=None, label="Success",
        help_text="What counts as success for this meeting. Members confirm it at the start.")
    dig_minutes = forms.IntegerField(
        min_value=1, max_value=180, label="Test and learn (minutes)",
        initial=int(DEFAULT_DIG_DURATION.total_seconds() // 60), help_text=DIG_MINUTES_HELP)
    hide_entries = forms.BooleanField(
        required=False, initial=True, label="Keep entries hidden until I reveal them",
        help_text="So that nobody anchors on the first idea they read.")

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = ready_datasets_of(team)
        self.fields["success_definition"].queryset = success_definitions_of(team)
        self.fields["success_definition"].label_from_instance = (
            lambda d: f"{d.name}: {d.description}" if d.description else d.name)


class HypothesisForm(forms.Form):
    text = forms.CharField(
        max_length=500, label="In your own words",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder":
                                     "Users who invite a teammate in week one succeed more"}))
    expected_direction = forms.ChoiceField(
        required=False, label="You expect these users to…",
        help_text="Not said reads as “succeed more often”: the verdict is judged against it.",
        choices=[("", "— not said —"), *Hypothesis.Direction.choices])
    confidence = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="How sure are you?",
        choices=[("", "— not said —"), *Hypothesis.CONFIDENCE_CHOICES])

    def __init__(self, *args, prefix_id: str = "new", **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = f"id_{prefix_id}_%s"


class EvidenceField(forms.TypedChoiceField):
    """A result to link, checked against a set of ids: saving a finding at a session of
    500 tests needs neither their labels nor a scan of 500 choices."""

    allowed: frozenset[str] = frozenset()

    def valid_value(self, value) -> bool:
        return str(value) in self.allowed


class FindingForm(forms.Form):
    text = forms.CharField(max_length=2000, label="What did you find?", widget=forms.Textarea(
        attrs={"rows": 3, "placeholder": "Inviters succeed about twice as often, on every plan"}))
    kind = forms.ChoiceField(choices=Finding.Kind.choices, initial=Finding.Kind.INSIGHT,
                             label="Kind", widget=forms.RadioSelect)
    test = EvidenceField(required=False, coerce=int, empty_value=None,
                         label="Evidence: link a result", choices=())

    def __init__(self, *args, results=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_finding_%s"
        self.offer(results)
        self.labelled = True

    def offer(self, results) -> None:
        """The results a finding may link to as its evidence: each hypothesis' latest."""
        choices = [(row.test.pk, f"{row.test.hypothesis.text[:70]}"
                    + (f" ({row.verdict})" if row.verdict else ""))
                   for row in results if row.is_latest]
        self.fields["test"].choices = [("", "— none —"), *choices]
        self.fields["test"].allowed = frozenset(str(pk) for pk, _ in choices)

    @property
    def evidence_ids(self) -> list:
        """The results offered, in order (not the "— none —" choice)."""
        return [value for value, _ in self.fields["test"].choices if value != ""]

    @classmethod
    def to_save(cls, data, *, latest_tests) -> FindingForm:
        """A posted form checked against the ids of the latest tests alone: saving one
        needs no results read (the labels matter only when the form is drawn again,
        and then `offer` gives them)."""
        form = cls(data)
        form.fields["test"].allowed = frozenset(str(pk) for pk in latest_tests)
        form.labelled = False  # sessions.page labels it if it is drawn again
        return form


class NextStepForm(forms.Form):
    text = forms.CharField(max_length=1000, label="What next?", widget=forms.Textarea(
        attrs={"rows": 2, "placeholder": "A/B test an invite prompt in onboarding"}))
    kind = forms.ChoiceField(choices=NextStep.Kind.choices, widget=forms.RadioSelect,
                             initial=NextStep.Kind.EXPERIMENT, label="Kind")
    owner = forms.TypedChoiceField(coerce=int, label="Owner", choices=())
    due_date = forms.DateField(required=False, label="Due",
                               widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, team: Team, **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_next_%s"
        self.fields["owner"].choices = [(m.user_id, m.user.name) for m in members_of(team)]


class DefinitionChoiceForm(forms.Form):
    success_definition = forms.ModelChoiceField(queryset=None, empty_label=None,
                                                label="Start from another definition")

    def __init__(self, *args, team: Team, exclude: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_choose_%s"
        self.fields["success_definition"].queryset = success_definitions_of(team).exclude(
            pk=exclude)
        self.fields["success_definition"].label_from_instance = (
            lambda d: f"{d.name}: {d.description}" if d.description else d.name)


class DefinitionReviseForm(forms.Form):
    events = forms.MultipleChoiceField(label="Success events", choices=(),
                                       widget=forms.CheckboxSelectMultiple)
    match = forms.ChoiceField(choices=[("any", "any of them"), ("all", "all of them")],
                              label="Users who did")
    within_days = forms.IntegerField(required=False, min_value=1, max_value=36500,
                                     label="Within (days of the first visit)",
                                     help_text="Empty: at any time.")

    def __init__(self, *args, events: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_revise_%s"
        self.fields["events"].choices = [(e, e) for e in events]


class SettingsForm(forms.Form):
    dig_minutes = forms.IntegerField(min_value=1, max_value=180, label="Test and learn (minutes)",
                                     help_text=DIG_MINUTES_HELP)
    hide_entries = forms.BooleanField(required=False, label="Hide entries until revealed")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_settings_%s"


class ExtendForm(forms.Form):
    minutes = forms.TypedChoiceField(coerce=int, choices=[(m, f"+{m} min") for m in (2, 5, 10)],
                                     initial=5, label="Extend by")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_extend_%s"


class TimeboxForm(forms.Form):
    """A timebox on the current step, or planned for another (Test and learn has its own
    timer)."""

    minutes = forms.IntegerField(min_value=0, max_value=180, label="Minutes",
                                 help_text="0 removes it. Advisory: nothing is refused at zero.")
    step = forms.ChoiceField(label="On the step", choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_timebox_%s"
        self.fields["step"].choices = [
            (step.value, step.label) for step in Step
            if step not in (Step.TEST_AND_LEARN, Step.CLOSED)]


class VoteOpenForm(forms.Form):
    dots_per_member = forms.IntegerField(min_value=1, max_value=MAX_DOTS_PER_MEMBER,
                                         initial=DEFAULT_DOTS_PER_MEMBER,
                                         label="Dots per member")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.auto_id = "id_vote_%s"
