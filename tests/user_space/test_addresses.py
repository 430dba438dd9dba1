"""Delivery addresses (issue 12, item 4; natural-person agreement clause 4(6)): the person adds,
changes, deletes addresses and picks the default on ``/account/addresses`` (forms, no script,
field messages); the values are sealed at rest; a portal receives the default address as the
standard ``address`` claim (OIDC Core 5.1.1) only with consent, and the release is in the
disclosure log; cancellation erases them."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

from tests.account.helpers import account_login, create_user, signed_in_page
from tests.support import CliRunner, RelyingParty, csrf_token

HOME = {
    "recipient": "王小明",
    "phone": "138 0013 8000",
    "region_code": "330106",
    "street": "杭州市西湖区文三路90号 3幢201室",
    "postal_code": "310012",
}
OFFICE = {
    "recipient": "王小明",
    "phone": "0571-87654321",
    "region_code": "110105",
    "street": "朝阳区建国路1号",
    "postal_code": "",
}


def rows(provider: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    with provider.db.engine.connect() as connection:
        return [dict(row) for row in connection.execute(text(sql), params).mappings()]


def addresses_of(html: str) -> list[tuple[str, str]]:
    """(address id, default yes/no) of the list, top to bottom."""
    return re.findall(
        r'<section class="section" data-address="([^"]+)" data-default="(yes|no)"', html
    )


def add(browser: Any, values: dict[str, str], **extra: str) -> Any:
    html = signed_in_page(browser, "/account/addresses/new?lang=en")
    return browser.post(
        "/account/addresses/new",
        data={"csrf_token": csrf_token(html), **values, **extra},
    )


def post(browser: Any, path: str, **data: str) -> Any:
    html = signed_in_page(browser, "/account/addresses?lang=en")
    return browser.post(path, data={"csrf_token": csrf_token(html), **data})


def logged_in(client: Any, user: dict[str, str]) -> Any:
    assert account_login(client, user["username"], user["password"]).status_code == 303
    return client


def test_addresses_are_added_changed_made_default_and_deleted(client, user) -> None:
    logged_in(client, user)
    empty = signed_in_page(client, "/account/addresses?lang=en")
    assert 'id="no-addresses"' in empty and "<script" not in empty
    assert 'href="/account/addresses"' in empty  # in the account navigation

    first = add(client, HOME)
    assert first.status_code == 303 and first.headers["Location"].endswith("done=added")
    assert add(client, OFFICE).status_code == 303
    listing = signed_in_page(client, "/account/addresses?lang=en")
    (home_id, home_default), (office_id, office_default) = addresses_of(listing)
    # The first address is the default, and the default comes first.
    assert (home_default, office_default) == ("yes", "no")
    assert "浙江省杭州市西湖区文三路90号 3幢201室" in listing
    assert "13800138000" in listing and "0571-87654321" in listing

    made = post(client, "/account/addresses/default", id=office_id)
    assert made.headers["Location"].endswith("done=default")
    assert addresses_of(signed_in_page(client, "/account/addresses")) == [
        (office_id, "yes"),
        (home_id, "no"),
    ]

    form = signed_in_page(client, f"/account/addresses/edit?id={home_id}&lang=en")
    assert 'value="杭州市西湖区文三路90号 3幢201室"' in form
    changed = client.post(
        "/account/addresses/edit",
        data={
            "csrf_token": csrf_token(form),
            "id": home_id,
            **HOME,
            "street": "杭州市西湖区文二路1号",
            "make_default": "yes",
        },
    )
    assert changed.headers["Location"].endswith("done=changed")
    listing = signed_in_page(client, "/account/addresses?lang=en")
    assert addresses_of(listing) == [(home_id, "yes"), (office_id, "no")]
    assert "文二路1号" in listing and "文三路" not in listing

    # Deleting the default makes the other one the default.
    deleted = post(client, "/account/addresses/delete", id=home_id)
    assert deleted.headers["Location"].endswith("done=deleted")
    assert addresses_of(signed_in_page(client, "/account/addresses")) == [(office_id, "yes")]


def test_bad_input_gets_field_messages_and_stores_nothing(client, provider, user) -> None:
    logged_in(client, user)
    refused = add(
        client,
        {
            "recipient": "",
            "phone": "12345",
            "region_code": "990000",
            "street": "x" * 201,
            "postal_code": "31001",
        },
    )
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="error-summary"' in html
    for name in ("recipient", "phone", "region_code", "street", "postal_code"):
        assert f'data-error-for="{name}"' in html, name
        assert f'data-summary-for="{name}"' in html, name
    assert "GB/T 2260" in html
    # A code with a county but no city is no division either.
    assert add(client, {**HOME, "region_code": "330006"}).status_code == 400
    assert rows(provider, "SELECT id FROM delivery_addresses") == []
    # Forms without the CSRF token are refused.
    assert client.post("/account/addresses/new", data=HOME).status_code == 400
    assert rows(provider, "SELECT id FROM delivery_addresses") == []


def test_addresses_are_sealed_at_rest_and_resealed_with_a_new_key(
    client, cli: CliRunner, provider, user
) -> None:
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    [row] = rows(provider, "SELECT details_sealed FROM delivery_addresses")
    sealed = row["details_sealed"]
    assert sealed.startswith("v1.")
    for value in ("王小明", "13800138000", "文三路", "310012", "330106"):
        assert value not in sealed

    result = cli.ok("keys", "rotate-data")
    [row] = rows(provider, "SELECT details_sealed FROM delivery_addresses")
    assert row["details_sealed"].split(".")[1] == result["current_key"]
    assert "文三路90号" in signed_in_page(client, "/account/addresses")


def test_another_person_cannot_touch_my_address(app, cli: CliRunner, client, user) -> None:
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    [(address_id, _default)] = addresses_of(signed_in_page(client, "/account/addresses"))

    bob = create_user(cli, "bob", "李四")
    other = logged_in(app.test_client(), bob)
    assert (
        other.get(f"/account/addresses/edit?id={address_id}")
        .headers["Location"]
        .endswith("done=missing")
    )
    assert (
        post(other, "/account/addresses/delete", id=address_id)
        .headers["Location"]
        .endswith("done=missing")
    )
    assert addresses_of(signed_in_page(other, "/account/addresses")) == []
    assert addresses_of(signed_in_page(client, "/account/addresses")) == [(address_id, "yes")]
    # Not logged in: to the login page, and back afterwards.
    anonymous = app.test_client().get("/account/addresses")
    assert anonymous.status_code == 303 and "/account/login" in anonymous.headers["Location"]


def address_portal(cli: CliRunner, client: Any) -> RelyingParty:
    data = cli.ok(
        "clients",
        "create",
        "--name",
        "Delivery Portal",
        "--redirect-uri",
        "https://post.example.gov.cn/callback",
        "--scope",
        "profile",
        "--scope",
        "address",
        "--json",
    )
    return RelyingParty(
        client, data["client_id"], data["client_secret"], "https://post.example.gov.cn/callback"
    )


def test_the_default_address_is_released_as_the_address_claim_with_consent(
    cli: CliRunner, client, user
) -> None:
    metadata = client.get("/.well-known/openid-configuration").get_json()
    assert "address" in metadata["scopes_supported"]
    assert "address" in metadata["claims_supported"]
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    assert add(client, OFFICE).status_code == 303
    portal = address_portal(cli, client)

    attempt = portal.authorize(scope="openid address")
    consent = portal.follow(attempt)
    assert "default delivery address" in consent or "默认收货地址" in consent
    portal.submit_consent(attempt)
    assert "code" in attempt.result, attempt.result
    tokens = portal.exchange(attempt).get_json()
    claims = portal.validate_id_token(tokens["id_token"], attempt.params["nonce"])
    expected = {
        "formatted": "浙江省杭州市西湖区文三路90号 3幢201室",
        "street_address": "杭州市西湖区文三路90号 3幢201室",
        "region": "浙江省",
        "postal_code": "310012",
        "country": "CN",
    }
    assert claims["address"] == expected
    info = portal.userinfo(tokens["access_token"]).get_json()
    assert info["address"] == expected
    # The recipient and the phone number are not members of the standard claim.
    assert "13800138000" not in str(info) and "王小明" not in str(info["address"])

    html = signed_in_page(client, "/account/disclosures?lang=en")
    assert 'data-claim="address"' in html
    assert html.count('data-claim="address"') == 2  # the ID token and userinfo
    assert "文三路" not in html


def test_no_consent_or_no_address_releases_no_address(cli: CliRunner, client, user) -> None:
    logged_in(client, user)
    portal = address_portal(cli, client)
    # Without the scope nothing is read or released, even with an address on file.
    assert add(client, {**OFFICE}).status_code == 303
    attempt = portal.login(user["username"], user["password"], scope="openid profile")
    tokens = portal.exchange(attempt).get_json()
    assert "address" not in portal.validate_id_token(tokens["id_token"])
    assert "address" not in portal.userinfo(tokens["access_token"]).get_json()
    # The person refuses: nothing goes out.
    refused = portal.login(
        user["username"], user["password"], scope="openid address", consent="deny"
    )
    assert refused.result.get("error") == "access_denied"
    # A portal not registered for the scope cannot ask for it.
    other = cli.ok(
        "clients",
        "create",
        "--name",
        "Other Portal",
        "--redirect-uri",
        "https://other.example.gov.cn/callback",
        "--json",
    )
    rp = RelyingParty(
        client, other["client_id"], other["client_secret"], "https://other.example.gov.cn/callback"
    )
    assert rp.authorize(scope="openid address").result.get("error") == "invalid_scope"


def test_a_municipality_address_has_a_locality(cli: CliRunner, client, user) -> None:
    logged_in(client, user)
    assert add(client, OFFICE).status_code == 303
    portal = address_portal(cli, client)
    attempt = portal.login(user["username"], user["password"], scope="openid address")
    tokens = portal.exchange(attempt).get_json()
    assert portal.userinfo(tokens["access_token"]).get_json()["address"] == {
        "formatted": "北京市朝阳区建国路1号",
        "street_address": "朝阳区建国路1号",
        "region": "北京市",
        "locality": "北京市",
        "country": "CN",
    }


def test_cancellation_erases_the_addresses(client, provider, user) -> None:
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    html = signed_in_page(client, "/account/cancel?lang=en")
    cancelled = client.post(
        "/account/cancel",
        data={
            "csrf_token": csrf_token(html),
            "password": user["password"],
            "confirm_cancel": "yes",
        },
    )
    assert cancelled.status_code == 303
    assert rows(provider, "SELECT id FROM delivery_addresses") == []


def test_export_opens_every_address(client, provider, user) -> None:
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    [account] = rows(provider, "SELECT id FROM accounts WHERE username = 'alice'")
    exported = provider.addresses.export(account["id"])
    [address] = exported["addresses"]
    assert address["street"] == HOME["street"] and address["phone"] == "13800138000"
    assert address["region"] == "浙江省" and address["default"] is True


def test_the_pages_speak_chinese(client, user) -> None:
    logged_in(client, user)
    assert add(client, HOME).status_code == 303
    html = signed_in_page(client, "/account/addresses?lang=zh_Hans_CN")
    assert "收货地址" in html and "默认地址" in html and "添加地址" in html
    form = signed_in_page(client, "/account/addresses/new?lang=zh_Hans_CN")
    assert "行政区划代码" in form and "收件人" in form
    security = signed_in_page(client, "/account/security?lang=zh_Hans_CN")
    assert "账号安全" in security and "修改密码" in security and "最近登录" in security
