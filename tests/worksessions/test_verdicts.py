"""Verdicts judged by the stated expectation (more, less, different; blank reads as more),
the same on the session page, the report page, the Markdown, the API, the session list and
a member's record; counts that add up."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from analytics.engine import stats
from api.services import token_create
from sessions import services, verdicts
from sessions.report import build_report, report_markdown
from sessions.results import session_results
from sessions.selectors import member_record, verdict_counts
from sessions.steps import Step

from .factories import INVITED, PRO, move_to

NOT_INVITED = {**INVITED, "did": False}  # users who did not invite: they buy far less

# (group successes, group users, rest successes, rest users) of four kinds of data.
DATA = {
    "more": (60, 200, 30, 200),  # the group clearly succeeds more often
    "less": (30, 200, 60, 200),  # clearly less often
    "unclear": (41, 200, 38, 200),  # no clear difference
    "few": (10, 20, 30, 200),  # fewer than 30 users in the group
}
EXPECTED_VERDICT = {
    # data:      expect more      expect less      expect different
    "more": ("supported", "contradicted", "supported"),
    "less": ("contradicted", "supported", "supported"),
    "unclear": ("inconclusive", "inconclusive", "inconclusive"),
    "few": ("not enough data", "not enough data", "not enough data"),
}
EXPECTATIONS = ("more", "less", "different")


def _reference_q() -> dict[str, float]:
    """q of each kind of data as one family, with statsmodels only."""
    p = {kind: proportions_ztest([x1, x0], [n1, n0])[1]
         for kind, (x1, n1, x0, n0) in DATA.items()}
    q = multipletests(list(p.values()), method="fdr_bh")[1]
    return dict(zip(p, q, strict=True))


@pytest.mark.parametrize("expected", EXPECTATIONS)
@pytest.mark.parametrize("kind", list(DATA))
def test_the_verdict_follows_the_expectation(kind, expected):
    x1, n1, x0, n0 = DATA[kind]
    q = _reference_q()[kind]
    lift = (x1 / n1) / (x0 / n0) - 1
    # Our own numbers agree with statsmodels' (the "few" group takes Fisher: not compared).
    ours = stats.compare(x1, n1, x0, n0)
    if ours["test"] == "z":
        assert ours["p_value"] == pytest.approx(proportions_ztest([x1, x0], [n1, n0])[1])
    want = EXPECTED_VERDICT[kind][EXPECTATIONS.index(expected)]
    assert stats.verdict(q, lift, n1, n0, expected) == want
    assert verdicts.judge(q, lift, n1, n0, expected) == want
    raw = {"more": "more", "less": "less"}.get(kind)
    assert stats.significant_direction(q, lift, n1, n0) == raw
    # The data are what they say: only "unclear" has q of 0.05 or more; "few" has a small
    # q too, and is still too small to judge.
    assert (q < 0.05) == (kind != "unclear")


def test_a_blank_expectation_is_read_as_more():
    assert verdicts.expectation("") == "more" == verdicts.expectation(None)
    assert verdicts.judge(0.001, -0.4, 100, 100, "") == "contradicted"
    assert verdicts.mirrored("") == "less" and verdicts.mirrored("different") == "different"
    with pytest.raises(ValueError):
        stats.verdict(0.01, 0.2, 100, 100, "sideways")


def test_counts_list_every_state_and_add_up():
    counts = verdicts.count(["supported", "not enough data", "inconclusive", "running",
                             None, "supported"])
    assert list(counts) == list(verdicts.STATES)
    assert counts == {"supported": 2, "contradicted": 0, "inconclusive": 1,
                      "not enough data": 1, "running": 1, "failed": 1}
    assert counts.total == 6 == sum(item["count"] for item in counts.shown)
    assert counts.text == ("6 tests: 2 supported, 0 contradicted, 1 inconclusive, "
                           "1 not enough data, 1 running, 1 failed")
    quiet = verdicts.count(["inconclusive"])
    assert quiet.text == "1 test: 0 supported, 0 contradicted, 1 inconclusive, 0 not enough data"


@pytest.fixture
def expect_less(session, owner, teammate):
    """Tom expects users who did not invite to buy less, and the data agrees; Olivia says
    nothing about Pro (read as "more"); a tiny group gives too little data."""
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate,
                               text="Users who never invite buy less", criterion=NOT_INVITED,
                               expected_direction="less", confidence=80)
    services.hypothesis_create(session=session, author=owner, text="Pro plans",
                               criterion=PRO)
    services.hypothesis_create(session=session, author=owner, text="The very first user",
                               criterion={"kind": "property", "property": "plan",
                                          "op": "=", "value": "nothing-like-this"})
    services.entries_reveal(session=session, by=owner)
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    return session


def test_expect_less_confirmed_is_supported_everywhere(client, expect_less, team, owner,
                                                       teammate):
    session = expect_less
    results = session_results(session)
    row = next(r for r in results.latest if r.hypothesis.text.startswith("Users who never"))
    assert row.lift < 0 and row.q_value < 0.05
    assert row.direction == "less" and row.expected == "less" and row.verdict == "supported"
    assert row.sentence.startswith("Users who did not do invite_teammate in the first 7 days "
                                   "succeed less often than the rest: ")
    assert row.expectation_outcome == "right"

    # Counts: every latest test in one state, adding up, the same on every screen.
    counts = results.counts()
    assert counts.total == len(results.latest) == 3
    assert counts["supported"] >= 1 and counts["not enough data"] == 1
    assert verdict_counts([session])[session.pk] == counts
    assert build_report(session).counts == counts

    client.force_login(owner)
    kwargs = {"team_slug": team.slug, "session_id": session.pk}
    page = client.get(reverse("worksessions:session_detail", kwargs=kwargs)).content.decode()
    assert 'data-verdict="supported">Supported</span>' in page
    assert 'data-verdict="contradicted">Contradicted' not in page.split("Users who never")[1] \
        .split("</article>")[0]
    assert f'data-verdict="supported">{counts["supported"]} supported</span>' in page
    assert 'data-verdict="not enough data">1 not enough data</span>' in page

    report_page = client.get(reverse("worksessions:session_report", kwargs=kwargs))
    html = report_page.content.decode()
    entry = html.split("Users who never invite buy less</p>")[1].split("</article>")[0]
    assert 'data-verdict="supported">Supported</span>' in entry
    assert "expectation right" in html.split("Users who never invite buy less</p>")[0] \
        .rsplit("<article", 1)[1]
    assert f'data-total="{counts.total}"' in html

    text = report_markdown(build_report(session))
    block = text.split("### Users who never invite buy less")[1].split("###")[0]
    assert "- Expected: succeed less often, 80% sure" in block
    assert "- Result: Supported (expectation right)." in block
    assert counts.text in text
    assert "| Users who never invite buy less | Tom Teammate | less (80%) |" in text
    assert "| Pro plans | Olivia Owner | more (not said) |" in text

    token = token_create(user=teammate, name="Wiki")[1]
    answer = client.get(f"/api/v1/teams/{team.slug}/sessions/{session.pk}",
                        headers={"Authorization": f"Bearer {token}"}).json()
    entries = {h["text"]: h for h in answer["hypotheses"]}
    result = entries["Users who never invite buy less"]["result"]
    assert (result["verdict"], result["direction"], result["expected"]) == (
        "supported", "less", "less")
    assert entries["Pro plans"]["result"]["expected"] == "more"
    assert answer["counts"] == dict(counts) and sum(answer["counts"].values()) == 3
    other = entries["Users who never invite buy less"]["unsuccessful_side"]
    assert other["verdict"] == "supported" and other["direction"] == "more"

    record = member_record(team, teammate)
    outcome = {e["hypothesis"].text: (e["verdict"], e["outcome"]) for e in record.entries}
    assert outcome["Users who never invite buy less"] == ("supported", "right")
    assert record.right == 1 and record.wrong == 0


def test_the_session_list_counts_every_state(client, expect_less, team, owner):
    session = services.session_close(session=expect_less, by=owner)
    counts = session_results(session).counts()
    client.force_login(owner)
    listing = client.get(reverse("worksessions:session_list",
                                 kwargs={"team_slug": team.slug})).content.decode()
    card = listing.split(session.title)[-1].split("</li>")[0]
    shown = [int(n) for n in re.findall(r'data-verdict="[^"]+">(\d+) ', card)]
    assert len(shown) == 4 and sum(shown) == counts.total == 3
    assert f'{counts["supported"]} supported' in card


def test_a_different_expectation_is_supported_either_way(session, owner):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=owner, text="Non-inviters differ",
                               criterion=NOT_INVITED, expected_direction="different")
    services.hypothesis_create(session=session, author=owner, text="Inviters differ",
                               criterion=INVITED, expected_direction="different")
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    rows = {r.hypothesis.text: r for r in session_results(session).latest}
    assert rows["Non-inviters differ"].direction == "less"
    assert rows["Inviters differ"].direction == "more"
    assert {r.verdict for r in rows.values()} == {"supported"}
    assert "succeed at a different rate" in rows["Inviters differ"].verdict_explanation
