from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from .models import User
from .services import NO_ONE_INVITED, normalize_email


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="Work email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    name = forms.CharField(
        label="Your name",
        max_length=User._meta.get_field("display_name").max_length,
        help_text="How your teammates will see you.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        help_text=password_validation.password_validators_help_text_html(),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account with this email already exists. Log in instead, or reset "
                "your password if you forgot it.",
                code="taken",
            )
        return email

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords are not the same.")
        elif password1:
            # Validators compare the password with the email and name being signed up.
            candidate = User(email=cleaned.get("email", ""), display_name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class EmailAuthenticationForm(AuthenticationForm):
    """Log in with an email address, whatever its capitals."""

    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Check them and "
        "try again.",
        "inactive": "This account has been deactivated.",
    }

    def clean_username(self) -> str:
        email = normalize_email(self.cleaned_data["username"])
        # An account created with capitals (by an admin, say) still signs in.
        stored = User.objects.filter(email__iexact=email).values_list("email", flat=True)
        return stored.first() or email


class TeamForm(forms.Form):
    name = forms.CharField(
        label="Team name",
        max_length=100,
        help_text="Usually your product or squad, e.g. “Checkout” or “Growth”.",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "organization"}),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("A team needs a name.")
        return name


class InvitationForm(forms.Form):
    """Who the link is for: by default only the person at the email (the link is mailed to
    them); "anyone with the link" is the owner's explicit choice (issue 12)."""

    FOR_EMAIL, ANYONE = "email", "anyone"
    email = forms.EmailField(
        label="Email",
        required=False,
        help_text="We email the link to this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "name@company.com"}),
    )
    who = forms.ChoiceField(
        label="Who can join with the link",
        choices=[(FOR_EMAIL, "Only the person at this email"),
                 (ANYONE, "Anyone with the link")],
        initial=FOR_EMAIL,
        help_text="With anyone, an email given just gets a copy of the link.",
        widget=forms.RadioSelect,
    )

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and not data.get("who"):
            data = data.copy()
            data["who"] = self.FOR_EMAIL  # bound to the email unless the owner chose otherwise
        super().__init__(data, *args, **kwargs)

    def clean(self) -> dict:
        data = super().clean()
        data["anyone_with_link"] = data.get("who") == self.ANYONE
        if not data["anyone_with_link"] and not data.get("email") and "email" not in self.errors:
            self.add_error("email", NO_ONE_INVITED)
        return data


class ProfileForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=User._meta.get_field("display_name").max_length,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
