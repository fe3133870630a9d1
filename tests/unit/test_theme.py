"""Per-event theme: colours, fonts and logo from the event row and the tenant's env."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.event.defaults import populate_new_event
from showcase.event.paths import STATIC
from showcase.event.theme import Location, Theme, logo_url, site_root, theme_for
from tests.eventsupport import EventClient

STYLE = re.compile(r"<style>(.*?)</style>", re.S)
COLOR = r"(?:#[0-9A-Fa-f]{3,8}|[A-Za-z]{3,30})"
FONT = r'(?:[A-Za-z0-9][A-Za-z0-9\-]*|"[A-Za-z0-9][A-Za-z0-9 \-]*")'
SAFE_CSS = re.compile(
    rf":root\{{--brand:{COLOR};--accent:{COLOR};--counter:{COLOR};"
    rf"--font:{FONT}(?:, {FONT})*;--font-size:[0-9.]+(?:%|px|pt|em|rem)\}}"
)


def themed(conn: sqlite3.Connection) -> None:
    populate_new_event(conn, "Spring Showcase")
    conn.execute(
        "UPDATE events SET counter_color = '#123456', font_family = 'Georgia,  Times New Roman',"
        " font_size = '120%'"
    )


@pytest.fixture
def client(tmp_path: Path) -> EventClient:
    return EventClient(tmp_path, themed)


def style_of(body: str) -> str:
    found = STYLE.search(body)
    assert found, body
    return found.group(1)


def test_theme_css_is_on_every_page(client: EventClient) -> None:
    """The layout carries the event's colours and fonts as CSS custom properties."""
    for page in ("/", "/public/heats", "/heats"):
        status, body = client.get(page)
        assert status == 200
        css = style_of(body)
        assert SAFE_CSS.fullmatch(css), css
        assert "--counter:#123456" in css
        assert '--font:Georgia, "Times New Roman", system-ui, sans-serif' in css
        assert "--font-size:120%" in css


def test_stylesheets_use_the_theme_properties() -> None:
    """app.css and counter.css take the body font, brand and counter colour from the theme."""
    app = (Path(STATIC) / "app.css").read_text()
    counter = (Path(STATIC) / "counter.css").read_text()
    assert "font-family: var(--font)" in app and "var(--brand)" in app
    assert "var(--font-size)" in app
    assert "color: var(--counter)" in counter


def test_counter_uses_the_counter_colour(client: EventClient) -> None:
    """The counter's text is the event's counter colour, inline and as --counter."""
    _, body = client.get("/public/counter")
    assert 'class="counter" style="color: #123456"' in body
    assert "--counter:#123456" in style_of(body)


@pytest.mark.parametrize(
    ("column", "hostile"),
    [
        ("counter_color", "red;}</style><script>alert(1)</script>"),
        ("font_family", "x}body{background:url(//evil)}"),
        ("font_family", "Arial</style><script>alert(1)</script>"),
        ("font_size", "1em;}*{display:none"),
    ],
)
def test_hostile_settings_are_replaced_by_defaults(
    client: EventClient, column: str, hostile: str
) -> None:
    """A database value that is not a plain colour, font list or size never reaches the page:
    the default takes its place."""
    with client.db.transaction():
        client.db.execute(f"UPDATE events SET {column} = ?", (hostile,))
    for page in ("/", "/public/counter"):
        _, body = client.get(page)
        assert "alert(1)" not in body and "evil" not in body and "display:none" not in body
        assert SAFE_CSS.fullmatch(style_of(body))
    assert body.count("<script") == 3  # import map, index.js, the counter's module


_SETTINGS = st.fixed_dictionaries(
    {
        "counter_color": st.one_of(
            st.text(max_size=40), st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)
        ),
        "font_family": st.one_of(
            st.text(max_size=60), st.from_regex(r"[A-Za-z ,\-]{1,40}", fullmatch=True)
        ),
        "font_size": st.one_of(
            st.text(max_size=12), st.from_regex(r"[0-9]{1,3}(%|pt)", fullmatch=True)
        ),
    }
)


@given(_SETTINGS, st.text(max_size=60))
def test_any_settings_give_safe_css(settings: dict[str, str], logo: str) -> None:
    """Whatever the event row and SHOWCASE_LOGO hold, the theme's CSS is one :root rule of
    plain values, and a valid value is kept as given."""
    theme = theme_for(settings, Location.from_env({"SHOWCASE_LOGO": logo}))
    assert SAFE_CSS.fullmatch(theme.css()), theme.css()
    if re.fullmatch(r"#[0-9a-f]{6}", settings["counter_color"]):
        assert theme.counter == settings["counter_color"]
    assert theme.logo is None or re.fullmatch(r"(https?://|/)[A-Za-z0-9._~:/\-]*", theme.logo)


def test_theme_refuses_unsafe_values() -> None:
    """A Theme cannot be made with a value that could break out of its CSS declaration."""
    for bad in ({"accent": "red;x:y"}, {"fonts": ("a}b",)}, {"font_size": "1em;"}):
        with pytest.raises(ValueError):
            Theme(**bad)
    with pytest.raises(ValueError):
        Theme(logo="javascript:alert(1)")


def test_defaults_without_settings() -> None:
    """An empty event row gives the default colours and fonts and no logo."""
    theme = theme_for({})
    assert theme == Theme()
    assert theme.logo is None and theme.counter == "#FFFFFF"


def test_logo_and_owner_show_in_the_header(tmp_path: Path) -> None:
    """SHOWCASE_LOGO (a file under public/) is shown in the header below the site's root,
    with the location's name as its alt text."""
    client = EventClient(tmp_path, themed)
    client.ctx.page.configure(
        {
            "SHOWCASE_LOGO": "arthur-murray-logo.gif",
            "SHOWCASE_OWNER": "Boston",
            "SHOWCASE_ROOT": "/showcase",
        }
    )
    _, body = client.get("/")
    assert '<img src="/showcase/arthur-murray-logo.gif" alt="Boston">' in body
    client.ctx.page.configure({})
    _, body = client.get("/")
    assert "<img" not in body


@pytest.mark.parametrize(
    ("value", "root", "url"),
    [
        ("logo.png", "/showcase", "/showcase/logo.png"),
        ("logos/boston.png", "", "/logos/boston.png"),
        ("/static/x.svg", "/showcase", "/static/x.svg"),
        ("https://example.com/a/logo.png", "/showcase", "https://example.com/a/logo.png"),
        ("javascript:alert(1)", "", None),
        ("../secret.png", "", None),
        ("//evil.example/x.png", "", None),
        ('logo.png" onerror="x', "", None),
        ("", "/showcase", None),
    ],
)
def test_logo_urls(value: str, root: str, url: str | None) -> None:
    """A logo is an http(s) URL or absolute path as given, a relative path under the site's
    root; anything else is no logo."""
    assert logo_url(value, root) == url


def test_site_root_from_the_router_env() -> None:
    """Under the router the site root is the tenant's prefix less its scope."""
    assert site_root({"SHOWCASE_ROOT": "/showcase/"}) == "/showcase"
    env = {"SHOWCASE_PREFIX": "/showcase/2025/boston", "SHOWCASE_SCOPE": "2025/boston"}
    assert site_root(env) == "/showcase"
    assert site_root({"SHOWCASE_PREFIX": "/2025/boston", "SHOWCASE_SCOPE": "2025/boston"}) == ""
    assert site_root({}) == ""
