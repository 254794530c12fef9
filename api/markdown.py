"""A session's report in Markdown, for a team's wiki, written from the API's JSON report
(so both say the same things). User-written text is escaped: a wiki that renders HTML
inside Markdown must not run a script someone typed as a hypothesis."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def text(value: object) -> str:
    """User text on one line, inert in Markdown and in HTML."""
    flat = " ".join(str(value or "").split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2g}" if abs(value) < 0.001 else f"{value:.{digits}f}"


def report_markdown(report: dict) -> str:
    session, definition = report["session"], report["success_definition"]
    lines = [f"# {text(session['title'])}", ""]
    lines += [
        f"- Step: {session['step_label']}",
        f"- Facilitator: {text(session['facilitator'] or 'n/a')}",
        f"- Dataset: {text(report['dataset']['name'])}",
        f"- Success: {text(definition['name'])} (v{definition['version']}): "
        f"{text(definition['description'])}",
        f"- Started: {session['created_at']:%Y-%m-%d %H:%M} UTC",
        "",
    ]
    by_id = {h["id"]: h for h in report["hypotheses"]}
    lines += ["## Hypotheses and new ideas", ""]
    if not report["hypotheses"]:
        lines.append("None yet.")
    for entry in report["hypotheses"]:
        kind = "Idea" if entry["kind"] == "idea" else "Hypothesis"
        lines.append(f"- **{kind}** by {text(entry['author'] or 'a former member')}: "
                     f"{text(entry['text'])}")
    hidden = sum(report["hidden_entries"].values())
    if hidden:
        lines.append(f"- ({hidden} more, not revealed yet)")
    lines += ["", "## Results", ""]
    latest = [r for r in report["results"] if r["is_latest"]]
    if not latest:
        lines.append("No tests yet.")
    else:
        lines += ["| Hypothesis | Group | Rest | Lift | p | q | Verdict |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for row in latest:
            entry = by_id.get(row["hypothesis_id"], {})
            if row["group"] is None:
                lines.append(f"| {text(entry.get('text', ''))} | | | | | | {row['status']} |")
                continue
            group, rest = row["group"], row["rest"]
            lines.append(
                f"| {text(entry.get('text', ''))} "
                f"| {_pct(group['rate'])} of {group['users']} "
                f"| {_pct(rest['rate'])} of {rest['users']} "
                f"| {_pct(row['lift'])} | {_num(row['p_value'])} | {_num(row['q_value'])} "
                f"| {row['verdict'] or 'n/a'} |")
        lines += ["", "q: Benjamini-Hochberg over all of this session's tests."]
    lines += ["", "## Findings", ""]
    if not report["findings"]:
        lines.append("None recorded.")
    for finding in report["findings"]:
        lines.append(f"- {text(finding['text'])} ({text(finding['author'] or 'n/a')}, "
                     f"{finding['kind']})")
    lines += ["", "## Next steps", ""]
    if not report["next_steps"]:
        lines.append("None recorded.")
    for step in report["next_steps"]:
        box = "x" if step["done_at"] else " "
        owner = f" (owner: {text(step['owner'])})" if step["owner"] else ""
        due = f", due {step['due_date']:%Y-%m-%d}" if step["due_date"] else ""
        lines.append(f"- [{box}] {text(step['text'])}{owner}{due}")
    return "\n".join(lines) + "\n"
