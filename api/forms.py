from django import forms

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100,
        help_text="What will use it, e.g. “Nightly event import” or “Wiki export”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires_in_days = forms.ChoiceField(
        label="Expires", choices=EXPIRY_CHOICES, initial="90", required=False,
        help_text="A token that leaks stops working by itself after this.",
    )

    def clean_expires_in_days(self) -> int | None:
        value = self.cleaned_data.get("expires_in_days")
        return int(value) if value else None
