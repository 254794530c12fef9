"""The project's documents (docs/*.md) as pages: /docs/definitions/ renders the analysis
contract for people, /docs/definitions.md serves it as it is written, for tools.

The renderer knows the Markdown the documents use and nothing more: headings, paragraphs,
lists (one level, with continued lines), tables, fenced code and inline `code`, **bold**
and *emphasis*. Every piece of text is escaped first, so a document cannot inject markup."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

DOCS_DIR = Path(settings.BASE_DIR) / "docs"
DOCUMENTS = {"definitions": "definitions.md"}

_INLINE = [
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"<em>\1</em>"),
]


def source(name: str) -> str:
    return (DOCS_DIR / DOCUMENTS[name]).read_text(encoding="utf-8")


def _inline(text: str) -> str:
    """Escape, then mark up: code spans first, so that nothing inside them is touched."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{escape(part[1:-1])}</code>")
            continue
        html = escape(part)
        for pattern, replacement in _INLINE:
            html = pattern.sub(replacement, html)
        out.append(html)
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    head, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    html = ["<div class=\"table-wrap\"><table class=\"table\"><thead><tr>"]
    html += [f"<th scope=\"col\">{_inline(cell)}</th>" for cell in head]
    html.append("</tr></thead><tbody>")
    for row in rows:
        html.append("<tr>" + "".join(f"<td>{_inline(cell)}</td>" for cell in row) + "</tr>")
    html.append("</tbody></table></div>")
    return "".join(html)


def to_html(text: str) -> tuple[SafeString, list[dict]]:
    """(HTML, the table of contents: [{"id", "title"}] of the level-2 headings)."""
    lines = text.splitlines()
    html: list[str] = []
    toc: list[dict] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
        elif stripped.startswith("```"):
            end = i + 1
            while end < len(lines) and not lines[end].strip().startswith("```"):
                end += 1
            html.append(f"<pre><code>{escape(chr(10).join(lines[i + 1:end]))}</code></pre>")
            i = end + 1
        elif heading := re.match(r"^(#{1,6})\s+(.*)$", stripped):
            level, title = len(heading[1]), heading[2]
            anchor = slugify(title)
            if level == 2:
                toc.append({"id": anchor, "title": title})
            html.append(f"<h{level} id=\"{anchor}\">{_inline(title)}</h{level}>")
            i += 1
        elif stripped.startswith("|"):
            end = i
            while end < len(lines) and lines[end].strip().startswith("|"):
                end += 1
            html.append(_table([row.strip() for row in lines[i:end]]))
            i = end
        elif re.match(r"^[-*]\s+", stripped):
            # Items run until a blank line that is not followed by an indented line;
            # an indented table inside an item belongs to it.
            items: list[dict] = []
            while i < len(lines):
                current = lines[i]
                if re.match(r"^[-*]\s+", current):
                    items.append({"text": [re.sub(r"^[-*]\s+", "", current)], "blocks": []})
                    i += 1
                elif current.startswith("  ") and current.strip().startswith("|"):
                    end = i
                    while end < len(lines) and lines[end].strip().startswith("|"):
                        end += 1
                    items[-1]["blocks"].append(_table([row.strip() for row in lines[i:end]]))
                    i = end
                elif current.strip() and current.startswith(" "):
                    blocks = items[-1]["blocks"]
                    if not blocks:
                        items[-1]["text"].append(current.strip())
                    elif isinstance(blocks[-1], list):
                        blocks[-1].append(current.strip())
                    else:  # words after a table: a paragraph of their own
                        blocks.append([current.strip()])
                    i += 1
                elif not current.strip() and i + 1 < len(lines) \
                        and lines[i + 1].startswith("  ") and lines[i + 1].strip():
                    i += 1
                else:
                    break
            html.append("<ul>" + "".join(
                f"<li>{_inline(' '.join(item['text']))}{''.join(map(_block, item['blocks']))}"
                "</li>" for item in items) + "</ul>")
        else:
            end = i
            while end < len(lines) and lines[end].strip() and not _starts_block(lines[end]):
                end += 1
            html.append(f"<p>{_inline(' '.join(row.strip() for row in lines[i:end]))}</p>")
            i = end
    return mark_safe("\n".join(html)), toc  # noqa: S308 - every text above is escaped


def _block(block: str | list[str]) -> str:
    return block if isinstance(block, str) else f"<p>{_inline(' '.join(block))}</p>"


def _starts_block(line: str) -> bool:
    stripped = line.strip()
    return (stripped.startswith(("```", "|", "#")) or bool(re.match(r"^[-*]\s+", stripped)))


@cache
def rendered(name: str) -> tuple[SafeString, list[dict]]:
    return to_html(source(name))


# ------------------------------------------------------------------------------ views


def document(request: HttpRequest, name: str) -> HttpResponse:
    html, toc = rendered(name)
    return render(request, "docs/document.html", {
        "html": html, "toc": toc, "name": name, "filename": DOCUMENTS[name]})


def document_source(request: HttpRequest, name: str) -> HttpResponse:
    return HttpResponse(source(name), content_type="text/markdown; charset=utf-8")


def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers and crawlers ask for /favicon.ico whatever the page links; the icon is SVG.
    return redirect(static("img/favicon.svg"), permanent=False)
