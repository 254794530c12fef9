"""A member's empty forms, drawn once per content and kept (sessions.cards' cache), as
entry cards are.

Most writes of a meeting are answered with the member's own part of the page, and that
part carries the form for their next entry or finding: empty, and the same for every
member but for their CSRF token. Drawn field by field with the criterion builder and the
dataset's value lists, the entry form was about half of a hypothesis answer's drawing.

Here such a form is drawn from exactly the values its key names, with a placeholder for
the token that each member's own replaces. A form with data or errors (refused, a builder
row added) is the member's alone and is drawn as before, by the template's include."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from . import cards

ENTRY_FORM = "worksessions/_entry_form.html"
FINDING_FIELDS = "worksessions/_finding_fields.html"


def entry_form(context) -> SafeString:
    """The form for one's next entry (`new_entry`, built empty by sessions.page)."""
    get = context.get
    if not get("csrf_token"):
        return entry_form_drawn(context)
    new_entry = get("new_entry")
    builder = new_entry["builder"]
    values_for_form = get("value_profile")
    missing = getattr(values_for_form, "missing_for", None)
    values = {
        "f": new_entry, "action": get("urls")["entry_create"],
        "submit_label": f"Add {get('entry_noun')}", "step": get("step"),
        "entry_kind": get("entry_kind"), "value_profile": values_for_form,
        "cancel_url": get("cancel_url"), "csrf_token": cards.TOKEN,
    }
    key = ("entry-form", values["action"], values["submit_label"], values["step"],
           values["entry_kind"], values["cancel_url"], new_entry.get("origin"),
           # the builder's choices come from the schema; its value lists from the profile
           repr(builder.schema) if builder is not None else None,
           repr(getattr(values_for_form, "profile", None)),
           (missing.pk, missing.team.slug) if missing is not None else None)
    html = cards.kept(key, lambda: render_to_string(ENTRY_FORM, values))
    return cards.with_token(html, context)


def finding_form(context) -> SafeString:
    """The finding form's <form> (`finding_form`, empty: no data posted)."""
    get = context.get
    if not get("csrf_token"):
        return finding_form_drawn(context)
    form = get("finding_form")
    values = {"finding_form": form, "urls": {"finding_create": get("urls")["finding_create"]},
              "step": get("step"), "csrf_token": cards.TOKEN}
    key = ("finding-form", values["urls"]["finding_create"], values["step"],
           # the results it offers as evidence (none in a write's light answer)
           tuple(form.fields["test"].choices), repr(sorted(form.initial.items())),
           form.fields["kind"].initial)
    html = cards.kept(key, lambda: render_to_string(FINDING_FIELDS, values))
    return cards.with_token(html, context)


# Drawn every time, from the whole context, as the templates' includes drew them: for a
# page drawn without a token, and for the tests that compare the kept forms with them.


def entry_form_drawn(context) -> SafeString:
    return _drawn(ENTRY_FORM, context, f=context.get("new_entry"),
                  action=context.get("urls")["entry_create"],
                  submit_label=f"Add {context.get('entry_noun')}")


def finding_form_drawn(context) -> SafeString:
    return _drawn(FINDING_FIELDS, context)


def _drawn(template: str, context, **values) -> SafeString:
    whole = context.flatten() if hasattr(context, "flatten") else dict(context)
    return mark_safe(render_to_string(template, {**whole, **values}))
