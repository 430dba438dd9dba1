"""The favicon and the authority's name and emblem on every page (issue 19, item 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idp.config import ConfigError, load_config

EMBLEM = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4"/></svg>'
)


@pytest.mark.parametrize("path", ["/favicon.ico", "/favicon.svg"])
def test_the_favicon_answers(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.data.startswith(b"<svg")
    assert "max-age" in response.headers["Cache-Control"]


def test_every_page_links_the_favicon_and_shows_the_default_name(client: Any) -> None:
    for path in ("/account/login", "/account/register", "/terms"):
        html = client.get(path).get_data(as_text=True)
        assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in html, path
        assert '<p class="service-name">统一身份认证</p>' in html, path
        assert "/branding/logo" not in html, path
    assert client.get("/branding/logo").status_code == 404


def test_the_configured_name_and_emblem_are_on_every_page(make_app: Any, tmp_path: Path) -> None:
    logo = tmp_path / "emblem.svg"
    logo.write_bytes(EMBLEM)
    app = make_app(SERVICE_NAME="浙江政务服务网统一身份认证", LOGO_PATH=str(logo))
    browser = app.test_client()
    for path in ("/account/login", "/account/register", "/terms", "/admin/login"):
        html = browser.get(path).get_data(as_text=True)
        assert "浙江政务服务网统一身份认证" in html, path
        assert '<img class="emblem" id="emblem" src="/branding/logo?v=' in html, path
    assert "<title>" in html
    served = browser.get("/branding/logo")
    assert served.status_code == 200
    assert served.mimetype == "image/svg+xml"
    assert served.data == EMBLEM
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"LOGO_PATH": "/nonexistent/emblem.svg"}, "IDP_LOGO_PATH: cannot read"),
        ({"LOGO_PATH": __file__}, "IDP_LOGO_PATH must name an .svg or a .png file"),
        ({"SERVICE_NAME": "x" * 65}, "IDP_SERVICE_NAME must be at most 64 characters"),
        ({"SERVICE_NAME": " 统一身份认证"}, "IDP_SERVICE_NAME must be at most"),
        ({"SERVICE_NAME": "统一\n身份认证"}, "IDP_SERVICE_NAME must not contain control"),
    ],
)
def test_bad_branding_settings_are_refused(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(settings)


def test_an_empty_or_too_large_logo_is_refused(tmp_path: Path) -> None:
    for size in (0, 256 * 1024 + 1):
        logo = tmp_path / "emblem.png"
        logo.write_bytes(b"\x89" * size)
        with pytest.raises(ConfigError, match="non-empty file of at most 256 KiB"):
            load_config({"LOGO_PATH": str(logo)})
