"""The handler grant form as a person sees it (issue 19, item 4): catalogue names without their
codes, no "sent to your phone" before a code was sent, and a grant's validity shown as the last
day the person typed (China time), not the instant it ends."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.companies.helpers import (
    CHEN_XIAOMING,
    LI_SI,
    get,
    location,
    page,
    post,
    registered,
    scope_form,
    send_grant_code,
)

CHINA = timezone(timedelta(hours=8))
SENT = "sent to your phone"


def day(offset: int) -> str:
    return (datetime.now(CHINA) + timedelta(days=offset)).date().isoformat()


def test_the_grant_form_shows_names_not_codes_and_no_sent_before_sending(
    represented: Any,
) -> None:
    chen, company = represented.legal_representative, represented.company
    html = page(get(chen, f"{company}/grants/new"))
    assert "Tax declaration" in html
    assert "<code>tax.declaration</code>" not in html
    assert not re.search(r">[^<]*\btax\.declaration\b[^<]*<", html)  # only in value=""
    assert SENT not in html
    assert "Send an SMS code to my phone” first" in html
    sent = page(post(chen, f"{company}/grants/new", {"action": "send_code"}))
    assert 'id="form-notice"' in sent and SENT in sent


def test_a_grant_is_valid_until_the_day_typed(app: Any, provider: Any, represented: Any) -> None:
    chen, company = represented.legal_representative, represented.company
    li = registered(app, provider, LI_SI)
    form = f"{company}/grants/new"
    code = send_grant_code(chen, form, provider, CHEN_XIAOMING.phone)
    until = day(20)
    data = scope_form(member=LI_SI.phone, grade="view", matters=["tax"], valid_until=until)
    assert location(post(chen, form, {**data, "sms_code": code})).endswith("?done=granted")
    for html in (page(get(chen, company)), page(get(li, "/account/companies"))):
        shown = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", html)
        assert until in shown, shown
        assert not any(until in text and ":" in text for text in shown), shown


def test_the_default_validity_ends_at_the_end_of_the_day_shown(
    app: Any, provider: Any, represented: Any
) -> None:
    """Left as the form proposes, the grant ends at midnight after the day shown (China time)."""
    chen, company = represented.legal_representative, represented.company
    li = registered(app, provider, LI_SI)
    form = f"{company}/grants/new"
    proposed = re.search(r'name="valid_until"\s+value="([^"]+)"', page(get(chen, form)))
    assert proposed is not None
    code = send_grant_code(chen, form, provider, CHEN_XIAOMING.phone)
    data = scope_form(
        member=LI_SI.phone, grade="view", matters=["tax"], valid_until=proposed.group(1)
    )
    assert location(post(chen, form, {**data, "sms_code": code})).endswith("?done=granted")
    html = page(get(li, "/account/companies"))
    match = re.search(r'<time datetime="([^"]+)">([^<]+)</time>', html.split("<tbody>", 1)[1])
    assert match is not None and match.group(2) == proposed.group(1)
    end = datetime.fromisoformat(match.group(1)).astimezone(CHINA)
    assert (end.hour, end.minute, end.second) == (0, 0, 0)


def test_a_refused_grant_form_opens_with_a_summary_linking_every_field(represented: Any) -> None:
    """Issue 19 item 3 on the company forms too: the GOV.UK error summary first in ``main``,
    focused, one link per refused field, in the order of the form."""
    chen, company = represented.legal_representative, represented.company
    data = scope_form(member="", grade="", matters=[], valid_until="")
    html = page(post(chen, f"{company}/grants/new", {**data, "action": "save", "sms_code": ""}))
    summary = html.split('id="error-summary"', 1)
    assert len(summary) == 2, "no error summary"
    assert "autofocus" in summary[1].split(">", 1)[0]
    main = html.split("<main", 1)[1]
    assert main.index('id="error-summary"') < main.index('class="card"')
    linked = re.findall(r'data-summary-for="([a-z_]+)"', html)
    assert "member" in linked and linked == sorted(
        linked, key=["member", "grade", "matters", "regions", "valid_until", "sms_code"].index
    )
    for field in linked:
        assert f'id="{field}"' in html, field
