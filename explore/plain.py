"""The one sentence each explore result leads with: what a product manager would say
aloud, before any statistic. The numbers behind it come after, under "What this means".

A difference is called real only when its p-value is under 0.05; otherwise the sentence
says chance could explain it, so nobody reads a coin flip as a finding."""

from __future__ import annotations

from analytics.numbers import percent

SIGNIFICANT = 0.05


def _real(p_value) -> bool:
    return p_value is not None and p_value < SIGNIFICANT


def _how_often(rate: float, other: float) -> str:
    """"2.1 times as often", "40% less often", "about as often"."""
    if other == 0:
        return "more often" if rate > 0 else "about as often"
    ratio = rate / other
    if ratio >= 1.05:
        return f"{ratio:.1f} times as often" if ratio >= 1.5 else \
            f"{(ratio - 1) * 100:.0f}% more often"
    if ratio <= 0.95:
        return f"{(1 - ratio) * 100:.0f}% less often"
    return "about as often"


def compare_sentence(result: dict, label_a: str, label_b: str, verb: str = "succeeded") -> str:
    a, b = result.get("a") or {}, result.get("b") or {}
    if not a.get("users") or not b.get("users") or a.get("rate") is None or b.get("rate") is None:
        return "One of the two groups has no users, so there is nothing to compare."
    rates = f"{percent(a['rate'])} vs {percent(b['rate'])}"
    if _real(result.get("p_value")):
        how = _how_often(a["rate"], b["rate"])
        word = "as" if how.endswith("as often") else "than"
        return f"{label_a} {verb} {how} {word} {label_b}: {rates}."
    return (f"{label_a} and {label_b} {verb} at rates chance could explain: {rates}; "
            "this data does not show a real difference.")


def breakdown_sentence(result: dict, what: str, verb: str = "succeeded") -> str:
    buckets = [b for b in result.get("buckets") or [] if b.get("users") and b.get("rate") is not None]
    if len(buckets) < 2:
        return f"There are not two groups with users to compare by {what}."
    low = min(buckets, key=lambda b: b["rate"])
    high = max(buckets, key=lambda b: b["rate"])
    spread = (f"By {what}, the share who {_base(verb)} ranges from {percent(low['rate'])} "
              f"({low['label']}) to {percent(high['rate'])} ({high['label']})")
    if _real(result.get("p_value")):
        return spread + ": these groups really differ."
    return spread + "; differences this size could be chance."


def stratify_sentence(result: dict, what: str, verb: str = "succeeded") -> str:
    group, rest = result.get("group") or {}, result.get("rest") or {}
    if group.get("rate") is None or rest.get("rate") is None:
        return "The group or the rest has no users, so there is nothing to compare."
    overall = (f"Overall {percent(group['rate'])} of the group {verb}, against "
               f"{percent(rest['rate'])} of the rest")
    if result.get("simpson"):
        return overall + f"; within each {what} bucket the gap turns the other way."
    if result.get("confounding"):
        return overall + f"; part of that gap comes from how the group spreads over {what}."
    return overall + f"; taking {what} into account leaves that gap much as it is."


def _base(verb: str) -> str:
    return {"succeeded": "succeeded", "did not succeed": "did not succeed"}.get(verb, verb)
