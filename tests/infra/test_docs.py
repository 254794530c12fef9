"""The analysis contract is part of the project (docs/definitions.md), served as a page and
as written; every link to it resolves, to a section that exists; the favicon answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from hypothesislab import docs

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
# {% url 'docs_definitions' %}#anchor in templates; /docs/name/#anchor in code.
TEMPLATE_LINK = re.compile(r"""\{% url 'docs_([a-z]+)' %\}(#[\w-]+)?""")
PLAIN_LINK = re.compile(r"/docs/([\w-]+)/(#[\w-]+)?")


def _links() -> list[tuple[str, str, str]]:
    found = []
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/*.py"),
                 *ROOT.glob("*/routers/*.py")]:
        text = path.read_text(encoding="utf-8")
        for pattern in (TEMPLATE_LINK, PLAIN_LINK):
            for name, anchor in pattern.findall(text):
                found.append((str(path.relative_to(ROOT)), name, anchor))
    return found


def test_the_contract_is_in_the_project():
    text = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    for part in ("## 1. Dataset", "## 2. Success definition", "## 3. Characteristic",
                 "## 4. Breakdown", "## 5. Statistics", "## 6. The command line",
                 "excluded_incomplete", "\"tried\"", "lift_ci95", "note", "not enough data",
                 "different", "MAX_IMPORT_ROWS"):
        assert part in text, part


def test_every_link_to_the_docs_resolves(client):
    links = _links()
    # The forms and the API's description link it; a test that finds none proves nothing.
    sources = {source for source, _, _ in links}
    assert {"templates/worksessions/_criterion_builder.html",
            "templates/dashboards/success_form.html", "templates/explore/_fields.html",
            "api/api.py"} <= sources
    pages: dict[str, str] = {}
    for source, name, anchor in links:
        if name not in pages:
            response = client.get(f"/docs/{name}/")
            assert response.status_code == 200, (source, name)
            pages[name] = response.content.decode()
        if anchor:
            assert f'id="{anchor[1:]}"' in pages[name], (source, name, anchor)


def test_the_document_page_and_its_source(client):
    page = client.get("/docs/definitions/")
    html = page.content.decode()
    assert page.status_code == 200 and "<h2 id=\"5-statistics-what-every-result-reports\">" in html
    assert "<table" in html and "<pre><code>" in html and "<script" not in html.split(
        "doc-body")[1].split("</article>")[0]
    raw = client.get("/docs/definitions.md")
    assert raw.status_code == 200 and raw["Content-Type"].startswith("text/markdown")
    assert raw.content.decode() == docs.source("definitions")
    assert client.get("/docs/no-such-document/").status_code == 404
    assert client.get("/docs/no-such-document.md").status_code == 404


def test_the_renderer_escapes_what_it_reads():
    html, toc = docs.to_html("## A <b>title</b>\n\nSome `<x>` and **bold** <script>.\n\n"
                             "- one\n  more\n- two\n\n| a | b |\n| --- | --- |\n| 1 | *2* |\n")
    assert toc == [{"id": "a-btitleb", "title": "A <b>title</b>"}]
    assert "<h2 id=\"a-btitleb\">A &lt;b&gt;title&lt;/b&gt;</h2>" in html
    assert "<code>&lt;x&gt;</code>" in html and "<strong>bold</strong>" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "<li>one more</li><li>two</li>" in html
    assert "<td>1</td><td><em>2</em></td>" in html


def test_the_favicon(client):
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[0][0].endswith("favicon.svg")
    assert b"<svg" in b"".join(response.streaming_content) if response.streaming else b"<svg" \
        in response.content
    page = client.get("/login/").content.decode()
    assert 'rel="icon" href="/static/img/favicon.svg"' in page
