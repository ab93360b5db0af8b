from __future__ import annotations

import re
import typing as t

import pytest

from flask_plug.cors.origins import OriginMatcher, normalise


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://Example.COM", "https://example.com"),
        ("HTTPS://example.com:443", "https://example.com"),
        ("http://example.com:80", "http://example.com"),
        ("http://example.com:8080", "http://example.com:8080"),
        ("https://example.com:0443", "https://example.com"),
        ("http://[::1]:5000", "http://[::1]:5000"),
        ("https://example.com/", None),
        ("https://example.com/path", None),
        ("example.com", None),
        ("https://", None),
        ("https://exa mple.com", None),
        ("https://example.com:99999", None),
        ("https://user@example.com", None),
        ("https://example..com", None),
        ("https://example.com.", None),
    ],
)
def test_normalise(given: str, expected: str | None) -> None:
    assert normalise(given) == expected


def matcher(*spec: t.Any) -> OriginMatcher:
    return OriginMatcher(list(spec), "CORS_ORIGINS")


def test_exact_origins_are_normalised_when_configured() -> None:
    m = matcher("HTTPS://App.Example.com:443")
    assert m.allowed("https://app.example.com")
    assert not m.allowed("https://app.example.com:8443")
    assert not m.allowed("http://app.example.com")


def test_non_serialised_origin_is_refused_not_reflected() -> None:
    assert not matcher("https://app.example.com").allowed("https://APP.example.com")


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://a.example.com", True),
        ("https://a.b.example.com", True),
        ("https://example.com", False),
        ("https://evilexample.com", False),
        ("https://a.example.com.evil.net", False),
        ("http://a.example.com", False),
        ("https://a.example.com:8443", False),
        ("https://-a.example.com", False),
        ("https://a..example.com", False),
    ],
)
def test_subdomain_wildcard_stops_at_a_label_boundary(origin: str, allowed: bool) -> None:
    assert matcher("https://*.example.com").allowed(origin) is allowed


def test_subdomain_wildcard_with_port() -> None:
    m = matcher("https://*.example.com:8443")
    assert m.allowed("https://a.example.com:8443")
    assert not m.allowed("https://a.example.com")


def test_patterns_must_match_the_whole_origin() -> None:
    m = matcher(re.compile(r"https://.*\.example\.com"))
    assert m.allowed("https://a.example.com")
    assert not m.allowed("https://a.example.com.evil.net")


def test_null_only_when_listed_literally() -> None:
    assert not matcher(re.compile(".*")).allowed("null")
    assert not matcher("https://*.example.com").allowed("null")
    assert matcher("null").allowed("null")


def test_star_allows_every_origin() -> None:
    assert matcher("*").allowed("https://anything.test")


@pytest.mark.parametrize(
    "bad",
    [
        "https://*.example",
        "https://*.com",
        "https://a.*.example.com",
        "*.example.com",
        "https://example.com/",
        "example.com",
        "ftp//x",
        42,
        re.compile(b"bytes"),
    ],
)
def test_bad_values_raise_naming_the_key_and_the_value(bad: t.Any) -> None:
    with pytest.raises(ValueError, match=r"CORS_ORIGINS: .*") as info:
        OriginMatcher([bad], "CORS_ORIGINS")
    assert repr(bad) in str(info.value)


def test_star_with_other_origins_raises() -> None:
    with pytest.raises(ValueError, match="'\\*' already allows every origin"):
        matcher("*", "https://a.example.com")


def test_wildcard_error_suggests_the_fix() -> None:
    with pytest.raises(ValueError, match="like 'https://\\*.example.com'"):
        matcher("https://*.example")
