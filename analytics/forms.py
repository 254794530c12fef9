from django import forms

from . import uploads


def check_data_file(uploaded) -> None:
    """The upload service's rule on data files, as a form error."""
    try:
        uploads.check_data_file(uploaded)
    except uploads.UploadRefused as refusal:
        raise forms.ValidationError(str(refusal)) from None


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class UploadForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For example “Product events, Q3”.")
    events = MultipleFileField(
        required=False, label="Events files",
        help_text="One row per event: who, what, when; other columns become event properties.",
    )
    users = forms.FileField(
        required=False, label="Users file (optional)",
        help_text="One row per user; other columns become user properties.",
    )

    def clean_events(self):
        files = self.cleaned_data["events"]
        for uploaded in files:
            check_data_file(uploaded)
        return files

    def clean_users(self):
        uploaded = self.cleaned_data.get("users")
        if uploaded:
            check_data_file(uploaded)
        return uploaded

    def clean(self):
        data = super().clean()
        if not data.get("events") and not data.get("users"):
            raise forms.ValidationError("Add an events file, a users file, or both.")
        return data


class MappingForm(forms.Form):
    """Which columns hold the user id, the event name and the time; prefilled with guesses."""

    def __init__(self, *args, event_columns: list[str], user_columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        if event_columns:
            choices = [(c, c) for c in event_columns]
            self.fields["user_id"] = forms.ChoiceField(choices=choices, label="User id column")
            self.fields["event"] = forms.ChoiceField(choices=choices, label="Event name column")
            self.fields["timestamp"] = forms.ChoiceField(choices=choices, label="Time column")
        if user_columns:
            self.fields["users_user_id"] = forms.ChoiceField(
                choices=[(c, c) for c in user_columns], label="User id column of the users file"
            )

    def clean(self):
        data = super().clean()
        picked = [data.get(k) for k in ("user_id", "event", "timestamp") if data.get(k)]
        if len(picked) != len(set(picked)):
            raise forms.ValidationError("User id, event and time must be three different columns.")
        return data
