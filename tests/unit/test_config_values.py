"""Value formats of the router config: durations, sizes and ``$n`` replacements."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.config import expand_replacement, parse_duration, parse_size

UNIT_SECONDS = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
    "d": Fraction(86400),
    "w": Fraction(604800),
    "y": Fraction(365 * 86400),
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("300ms", 0.3),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("1y", 365 * 86400.0),
        ("1.5d", 129600.0),
        ("24h", 86400.0),
        (" 15m ", 900.0),
    ],
)
def test_duration_examples(text: str, seconds: float) -> None:
    """The duration examples of the spec parse to their number of seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["30", "1.5", "", "5 m", "5M", "-5s", "1h-30m", "s", "forever"])
def test_bad_durations_are_rejected(text: str) -> None:
    """Bare numbers other than 0, unknown units, signs and junk are not durations."""
    with pytest.raises(ValueError, match=r"duration|unit"):
        parse_duration(text)


def test_bare_number_error_suggests_a_unit() -> None:
    """A bare number is rejected with a hint to add a unit."""
    with pytest.raises(ValueError, match="needs a unit"):
        parse_duration("3600")


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=10_000),
            st.sampled_from(["", "5", "25", "125"]),
            st.sampled_from(sorted(UNIT_SECONDS)),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_formatted_durations_parse_back(parts: list[tuple[int, str, str]]) -> None:
    """A duration written as number+unit pieces parses to the sum of the pieces."""
    text = "".join(
        f"{whole}.{fraction}{unit}" if fraction else f"{whole}{unit}"
        for whole, fraction, unit in parts
    )
    expected = sum(
        (
            Fraction(f"{whole}.{fraction or 0}") * UNIT_SECONDS[unit]
            for whole, fraction, unit in parts
        ),
        Fraction(0),
    )
    assert parse_duration(text) == pytest.approx(float(expected), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512K", 512 * 1024),
        ("768M", 768 * 1024**2),
        ("1G", 1024**3),
        ("1.5G", 3 * 1024**3 // 2),
        ("2048MB", 2048 * 1024**2),
        ("1GiB", 1024**3),
        ("1gib", 1024**3),
        ("64m", 64 * 1024**2),
        ("4096", 4096),
        ("100B", 100),
        ("2T", 2 * 1024**4),
    ],
)
def test_size_examples(text: str, size: int) -> None:
    """Sizes use powers of 1024, any case, with or without B/iB; a bare number is bytes."""
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "1.5", "G", "12X", "-1M", "1 GB extra", "5iB"])
def test_bad_sizes_are_rejected(text: str) -> None:
    """Fractional bytes, unknown units, signs and junk are not sizes."""
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([0, 1, 2, 3, 4]),
    st.sampled_from(["", "B", "iB"]),
    st.booleans(),
)
def test_formatted_sizes_parse_back(number: int, power: int, suffix: str, upper: bool) -> None:
    """``N<prefix>[B|iB]`` in either case parses to N * 1024**power bytes."""
    prefix = "KMGT"[power - 1] if power else ""
    text = f"{number}{prefix}{suffix if prefix else ''}"
    text = text.upper() if upper else text.lower()
    assert parse_size(text) == number * 1024**power


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=999))
def test_fractional_sizes_round_down_to_whole_bytes(whole: int, thousandths: int) -> None:
    """A fractional size with a unit is the exact product, rounded down to a byte."""
    text = f"{whole}.{thousandths:03d}M"
    assert parse_size(text) == int(Fraction(f"{whole}.{thousandths:03d}") * 1024**2)


GROUP_TEXT = st.text(alphabet=st.characters(blacklist_characters="|\n"), max_size=12)
LITERAL = st.text(alphabet=st.characters(blacklist_characters="$\\{}"), max_size=8)


def _match(groups: list[str]) -> re.Match[str]:
    pattern = r"\|".join("([^|]*)" for _ in groups)
    match = re.fullmatch(pattern, "|".join(groups), re.DOTALL)
    assert match is not None
    return match


@given(st.lists(GROUP_TEXT, min_size=1, max_size=12), st.data())
def test_braced_group_is_the_group_text(groups: list[str], data: st.DataObject) -> None:
    """``${n}`` is always the text of group n."""
    index = data.draw(st.integers(min_value=1, max_value=len(groups)))
    assert expand_replacement(f"${{{index}}}", _match(groups)) == groups[index - 1]


@given(st.lists(GROUP_TEXT, min_size=1, max_size=9), st.data())
def test_bare_group_before_a_non_name_character(groups: list[str], data: st.DataObject) -> None:
    """``$n`` followed by a character that cannot continue a name is group n."""
    index = data.draw(st.integers(min_value=1, max_value=len(groups)))
    assert expand_replacement(f"${index}/x", _match(groups)) == groups[index - 1] + "/x"


@given(LITERAL)
def test_double_dollar_is_a_literal_dollar(text: str) -> None:
    """``$$`` is a literal ``$`` and text without ``$`` is unchanged."""
    match = _match(["a"])
    assert expand_replacement(text, match) == text
    assert expand_replacement(f"{text}$${text}", match) == f"{text}${text}"


@given(
    st.lists(GROUP_TEXT, min_size=1, max_size=5),
    st.lists(st.one_of(LITERAL, st.integers(min_value=0, max_value=7), st.just("$")), max_size=8),
)
def test_expansion_matches_python_expand(groups: list[str], pieces: list[str | int]) -> None:
    """A template of literals, ``${n}`` and ``$$`` expands like Python's ``\\g<n>``, with
    groups beyond the pattern's count giving ""."""
    match = _match(groups)
    go_template = "".join(
        f"${{{p}}}" if isinstance(p, int) else ("$$" if p == "$" else p) for p in pieces
    )
    python_template = "".join(
        (f"\\g<{p}>" if p <= len(groups) else "") if isinstance(p, int) else p for p in pieces
    )
    assert expand_replacement(go_template, match) == match.expand(python_template)


def test_longest_name_is_taken() -> None:
    """``$1x`` names the group "1x", which does not exist, so it expands to ""."""
    match = _match(["one", "two"])
    assert expand_replacement("$1x-$2", match) == "-two"
    assert expand_replacement("${1}x-$2", match) == "onex-two"


def test_named_groups() -> None:
    """``$name`` and ``${name}`` are named groups; unknown names and unmatched groups give ""."""
    match = re.fullmatch(r"/(?P<year>\d+)/(?P<city>\w+)(?P<rest>/.*)?", "/2025/boston")
    assert match is not None
    assert expand_replacement("$city-${year}", match) == "boston-2025"
    assert expand_replacement("[$rest][$nope][$0]", match) == "[][][/2025/boston]"


def test_malformed_references_stay_literal() -> None:
    """A ``$`` without a name, ``${}`` and an unclosed ``${1`` are kept as written."""
    match = _match(["a"])
    assert expand_replacement("$", match) == "$"
    assert expand_replacement("cost: $ 5", match) == "cost: $ 5"
    assert expand_replacement("${}", match) == "${}"
    assert expand_replacement("${1", match) == "${1"
    assert expand_replacement("$-1", match) == "$-1"


def test_leading_zero_is_a_name_not_a_number() -> None:
    """``$01`` is the group named "01" (Go disallows leading zeros in numbers): empty."""
    match = _match(["a"])
    assert expand_replacement("[$01]", match) == "[]"
