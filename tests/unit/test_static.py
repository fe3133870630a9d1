"""Static files: direct serving, try_files, validators, ranges and containment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from showcase.config.model import CacheControl, CacheOverride, Static
from showcase.router.conditional import ByteRange, parse_range
from showcase.router.message import FileBody, Headers, Reply, RequestHead
from showcase.router.static import StaticFiles, content_type, safe_join

MTIME_NS = 1_700_000_000_123_456_789
MTIME = MTIME_NS // 1_000_000_000
CSS = b"body { color: red }\n"


def request(
    path: str,
    method: bytes = b"GET",
    headers: Headers = (),
    query: bytes = b"",
    target: bytes | None = None,
) -> RequestHead:
    if target is None:
        target = quote(path, safe="/", errors="surrogateescape").encode("ascii")
        target += b"?" + query if query else b""
    return RequestHead(
        method=method,
        target=target,
        path=path,
        query=query,
        version=b"1.1",
        headers=headers,
        client_ip="127.0.0.1",
    )


def header(reply: Reply, name: bytes) -> bytes | None:
    values = [value for key, value in reply.headers if key.lower() == name.lower()]
    assert len(values) <= 1, f"{name!r} repeated"
    return values[0] if values else None


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(MTIME_NS, MTIME_NS))


def build_tree(base: Path) -> Path:
    """public/ with ordinary files, symlinks in and out, and secrets beside it."""
    public = base / "public"
    write(public / "style.css", CSS)
    write(public / "STYLE2.CSS", CSS)
    write(public / "app.js", b"export {}\n")
    write(public / "README", b"no extension\n")
    write(public / "studios.html", b"<h1>studios</h1>\n")
    write(public / "docs" / "index.html", b"<h1>docs</h1>\n")
    write(public / "docs" / "page.css", CSS)
    write(public / "docs.html", b"<h1>docs.html</h1>\n")
    write(public / "about" / "index.html", b"<h1>about</h1>\n")
    write(public / "evil.example" / "index.html", b"<h1>not a host</h1>\n")
    write(public / "evilhost" / "index.html", b"<h1>not a host</h1>\n")
    write(public / "caf\u00e9.css", CSS)
    (public / "dir.css").mkdir()
    (public / "empty-dir").mkdir()
    write(base / "secret.css", b"SECRET\n")
    write(base / "secret.html", b"SECRET\n")
    write(base / "outside" / "secret.html", b"SECRET\n")
    write(base / "outside" / "index.html", b"SECRET\n")
    (public / "inner-link.css").symlink_to("style.css")
    (public / "inner-dir").symlink_to("docs")
    (public / "escape.css").symlink_to(base / "secret.css")
    (public / "escape.html").symlink_to("../secret.html")
    (public / "escdir").symlink_to(base / "outside")
    return public


@pytest.fixture
def public(tmp_path: Path) -> Path:
    return build_tree(tmp_path)


def files(public: Path, root_path: str = "", **options: object) -> StaticFiles:
    return StaticFiles(Static(public_dir=str(public), **options), root_path)  # type: ignore[arg-type]


def served(reply: Reply | None) -> FileBody:
    assert reply is not None
    assert reply.file is not None
    return reply.file


# --- direct serving -----------------------------------------------------------------------


def test_lookup_serves_a_file_with_its_validators(public: Path) -> None:
    """A GET for an existing file answers 200 with the whole file and its validators."""
    reply = files(public).lookup(request("/style.css"), "/style.css")
    assert reply is not None
    path = str(public / "style.css")
    assert reply.status == 200
    assert reply.file == FileBody(path, 0, len(CSS))
    assert reply.body == b""
    assert reply.kind == "static"
    assert reply.destination == path
    assert header(reply, b"Content-Type") == b"text/css; charset=utf-8"
    assert header(reply, b"Accept-Ranges") == b"bytes"
    assert header(reply, b"Last-Modified") == formatdate(MTIME, usegmt=True).encode()
    assert header(reply, b"ETag") == b'"%x-%x"' % (len(CSS), MTIME_NS)
    assert header(reply, b"Cache-Control") is None


def test_etag_changes_with_mtime(public: Path) -> None:
    """Touching a file gives it a new entity tag."""
    static = files(public)
    before = header(static.lookup(request("/style.css"), "/style.css") or Reply(0), b"ETag")
    os.utime(public / "style.css", ns=(MTIME_NS + 1, MTIME_NS + 1))
    after = header(static.lookup(request("/style.css"), "/style.css") or Reply(0), b"ETag")
    assert before is not None and after is not None and before != after


def test_head_gets_the_same_reply_as_get(public: Path) -> None:
    """HEAD answers with exactly the headers of GET (the front end drops the body)."""
    static = files(public)
    get = static.lookup(request("/style.css"), "/style.css")
    head = static.lookup(request("/style.css", method=b"HEAD"), "/style.css")
    assert head == get


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"get"])
def test_other_methods_fall_through(public: Path, method: bytes) -> None:
    """Methods other than GET and HEAD fall through, so they can reach a tenant."""
    static = files(public, try_files=("index.html",))
    assert static.lookup(request("/style.css", method=method), "/style.css") is None
    assert static.try_files(request("/docs/", method=method), "/docs/") is None


def test_root_path_is_stripped_before_lookup(public: Path) -> None:
    """With root_path /showcase, /showcase/style.css is public/style.css."""
    reply = files(public, "/showcase").lookup(request("/showcase/style.css"), "/showcase/style.css")
    assert served(reply).path == str(public / "style.css")


def test_path_outside_root_path_is_looked_up_as_is(public: Path) -> None:
    """A path without the root_path prefix is looked up unchanged."""
    reply = files(public, "/showcase").lookup(request("/style.css"), "/style.css")
    assert served(reply).path == str(public / "style.css")


def test_root_path_prefix_must_end_at_a_segment(public: Path) -> None:
    """/showcasestyle.css is not /showcase + style.css."""
    static = files(public, "/showcase")
    assert static.lookup(request("/showcasestyle.css"), "/showcasestyle.css") is None


def test_lookup_needs_an_extension(public: Path) -> None:
    """An extension-less file is never served directly."""
    assert files(public).lookup(request("/README"), "/README") is None


def test_allowed_extensions_limit_direct_serving(public: Path) -> None:
    """With allowed_extensions, only listed extensions are served."""
    static = files(public, allowed_extensions=("css",))
    assert static.lookup(request("/style.css"), "/style.css") is not None
    assert static.lookup(request("/app.js"), "/app.js") is None


def test_allowed_extensions_match_case_insensitively(public: Path) -> None:
    """STYLE2.CSS is served when css is allowed."""
    static = files(public, allowed_extensions=("css",))
    assert served(static.lookup(request("/STYLE2.CSS"), "/STYLE2.CSS")).length == len(CSS)


def test_directories_and_missing_files_fall_through(public: Path) -> None:
    """Only regular files are served: a directory named x.css or a missing file falls through."""
    static = files(public)
    assert static.lookup(request("/dir.css"), "/dir.css") is None
    assert static.lookup(request("/missing.css"), "/missing.css") is None
    assert static.lookup(request("/style.css/x.css"), "/style.css/x.css") is None


def test_unicode_file_names_are_served(public: Path) -> None:
    """A percent-decoded non-ASCII path finds its file."""
    reply = files(public).lookup(request("/caf\u00e9.css"), "/caf\u00e9.css")
    assert served(reply).path == str(public / "caf\u00e9.css")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.css", b"text/css; charset=utf-8"),
        ("a.js", b"text/javascript; charset=utf-8"),
        ("a.mjs", b"text/javascript; charset=utf-8"),
        ("a.html", b"text/html; charset=utf-8"),
        ("a.txt", b"text/plain; charset=utf-8"),
        ("a.json", b"application/json; charset=utf-8"),
        ("a.svg", b"image/svg+xml"),
        ("a.webp", b"image/webp"),
        ("a.woff", b"font/woff"),
        ("a.woff2", b"font/woff2"),
        ("a.ttf", b"font/ttf"),
        ("a.eot", b"application/vnd.ms-fontobject"),
        ("a.png", b"image/png"),
        ("A.PNG", b"image/png"),
        ("a.unknownext", b"application/octet-stream"),
    ],
)
def test_content_type(name: str, expected: bytes) -> None:
    """Content-Type comes from the extension; text types say UTF-8."""
    assert content_type(name) == expected


# --- containment --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.css",
        "/docs/../../secret.css",
        "/docs/../style.css",
        "/./style.css",
        "/docs/./page.css",
        "/..\\secret.css",
        "/docs\\page.css",
        "/style.css\x00.css",
        "/escape.css",
        "/escape.html",
        "/escdir/secret.html",
        "/escdir/../style.css",
    ],
)
def test_paths_that_could_escape_are_misses(public: Path, path: str) -> None:
    """Dot segments, backslashes, NUL and symlinks out of the tree never serve a file."""
    static = files(public, try_files=("index.html", ".html", ""))
    assert static.lookup(request(path), path) is None
    assert safe_join(str(public), path) is None


def test_symlinks_inside_the_tree_are_served(public: Path) -> None:
    """A symlink to a file or directory inside public_dir is followed."""
    static = files(public)
    assert served(static.lookup(request("/inner-link.css"), "/inner-link.css")).length == len(CSS)
    page = static.lookup(request("/inner-dir/page.css"), "/inner-dir/page.css")
    assert served(page).path == str(public / "inner-dir" / "page.css")


def test_encoded_separators_in_the_target_are_misses(public: Path) -> None:
    """A target whose %2F decoded into the path's slash does not serve a file."""
    static = files(public, try_files=("index.html",))
    head = request("/docs/page.css", target=b"/docs%2Fpage.css")
    assert static.lookup(head, "/docs/page.css") is None
    assert static.try_files(request("/docs/", target=b"/docs%2f"), "/docs/") is None
    assert static.lookup(request("/a.css", target=b"/a%5c..%5csecret.css"), "/a.css") is None


def test_safe_join_names_the_file_under_public_dir(public: Path) -> None:
    """safe_join joins URL segments under public_dir, ignoring empty ones."""
    assert safe_join(str(public), "/docs//page.css") == str(public / "docs" / "page.css")
    assert safe_join(str(public), "/") == str(public)
    assert safe_join(str(public), "/not/there.css") == str(public / "not" / "there.css")


# --- index.html redirect ------------------------------------------------------------------


def test_index_html_redirects_to_its_directory(public: Path) -> None:
    """GET /docs/index.html answers 301 to /docs/, keeping the query."""
    reply = files(public).lookup(request("/docs/index.html", query=b"a=1"), "/docs/index.html")
    assert reply is not None
    assert reply.status == 301
    assert header(reply, b"Location") == b"/docs/?a=1"
    assert reply.file is None


def test_index_html_redirect_keeps_root_path(public: Path) -> None:
    """Under a root_path the redirect keeps the prefix."""
    reply = files(public, "/showcase").lookup(
        request("/showcase/docs/index.html"), "/showcase/docs/index.html"
    )
    assert reply is not None and header(reply, b"Location") == b"/showcase/docs/"


def test_missing_index_html_is_not_redirected(public: Path) -> None:
    """Only an existing index.html redirects; a missing one falls through."""
    assert files(public).lookup(request("/nope/index.html"), "/nope/index.html") is None


def test_redirects_are_never_protocol_relative(public: Path) -> None:
    """//evil.example/index.html redirects to /evil.example/, not to another host."""
    static = files(public, normalize_trailing_slashes=True)
    reply = static.lookup(request("//evil.example/index.html"), "//evil.example/index.html")
    assert reply is not None and header(reply, b"Location") == b"/evil.example/"
    reply = static.try_files(request("//evilhost"), "//evilhost")
    assert reply is not None and header(reply, b"Location") == b"/evilhost/"


# --- conditional requests ------------------------------------------------------------------


def etag_of(public: Path) -> bytes:
    etag = header(files(public).lookup(request("/style.css"), "/style.css") or Reply(0), b"ETag")
    assert etag is not None
    return etag


def get_css(static: StaticFiles, *headers: tuple[bytes, bytes]) -> Reply:
    reply = static.lookup(request("/style.css", headers=headers), "/style.css")
    assert reply is not None
    return reply


def test_if_none_match_answers_304_with_validators(public: Path) -> None:
    """A matching If-None-Match answers 304 with ETag, Last-Modified, Cache-Control, no body."""
    static = files(public, cache_control=CacheControl(default=60))
    reply = get_css(static, (b"if-none-match", etag_of(public)))
    assert reply.status == 304
    assert reply.file is None and reply.body == b""
    assert header(reply, b"ETag") == etag_of(public)
    assert header(reply, b"Last-Modified") == formatdate(MTIME, usegmt=True).encode()
    assert header(reply, b"Cache-Control") == b"public, max-age=60"


@pytest.mark.parametrize("value", [b"*", b'"nope", %s', b"W/%s", b'W/"a" ,  W/%s , "b"', b"%s"])
def test_if_none_match_forms(public: Path, value: bytes) -> None:
    """If-None-Match matches with *, in a list, and by weak comparison."""
    etag = etag_of(public)
    given_value = value % etag if b"%s" in value else value
    assert get_css(files(public), (b"if-none-match", given_value)).status == 304


def test_if_none_match_mismatch_serves_the_file(public: Path) -> None:
    """A non-matching If-None-Match serves 200 even with a later If-Modified-Since."""
    later = formatdate(MTIME + 3600, usegmt=True).encode()
    reply = get_css(files(public), (b"if-none-match", b'"other"'), (b"if-modified-since", later))
    assert reply.status == 200


@pytest.mark.parametrize(("offset", "status"), [(0, 304), (3600, 304), (-1, 200)])
def test_if_modified_since(public: Path, offset: int, status: int) -> None:
    """If-Modified-Since at or after the mtime (to the second) answers 304."""
    since = formatdate(MTIME + offset, usegmt=True).encode()
    assert get_css(files(public), (b"if-modified-since", since)).status == status


@pytest.mark.parametrize("value", [b"yesterday", b"", b"Mon, 99 Foo 2023 99:99:99 GMT"])
def test_bad_if_modified_since_is_ignored(public: Path, value: bytes) -> None:
    """An unparseable If-Modified-Since serves the file."""
    assert get_css(files(public), (b"if-modified-since", value)).status == 200


# --- ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "start", "length"),
    [
        (b"bytes=0-3", 0, 4),
        (b"bytes=5-", 5, len(CSS) - 5),
        (b"bytes=-3", len(CSS) - 3, 3),
        (b"bytes=-1000", 0, len(CSS)),
        (b"bytes=2-1000", 2, len(CSS) - 2),
        (b"Bytes = 1-1", 1, 1),
    ],
)
def test_single_range_answers_206(public: Path, value: bytes, start: int, length: int) -> None:
    """One satisfiable byte range answers 206 with Content-Range and that part of the file."""
    reply = get_css(files(public), (b"range", value))
    assert reply.status == 206
    assert reply.file == FileBody(str(public / "style.css"), start, length)
    assert header(reply, b"Content-Range") == b"bytes %d-%d/%d" % (
        start,
        start + length - 1,
        len(CSS),
    )
    assert header(reply, b"ETag") is not None


@pytest.mark.parametrize("value", [b"bytes=%d-" % len(CSS), b"bytes=1000-2000", b"bytes=-0"])
def test_unsatisfiable_range_answers_416(public: Path, value: bytes) -> None:
    """A range wholly past the end answers 416 with Content-Range: bytes */size."""
    reply = get_css(files(public), (b"range", value))
    assert reply.status == 416
    assert reply.file is None
    assert header(reply, b"Content-Range") == b"bytes */%d" % len(CSS)


@pytest.mark.parametrize(
    "value", [b"bytes=0-1,3-4", b"bytes=3-1", b"items=0-1", b"bytes=x-", b"bytes=-", b"0-1"]
)
def test_multiple_or_bad_ranges_serve_the_whole_file(public: Path, value: bytes) -> None:
    """Several ranges, another unit or bad syntax serve the whole file with 200."""
    reply = get_css(files(public), (b"range", value))
    assert reply.status == 200
    assert reply.file == FileBody(str(public / "style.css"), 0, len(CSS))


def test_range_of_an_empty_file_is_unsatisfiable() -> None:
    """No byte range fits a zero-length file."""
    assert parse_range(b"bytes=0-", 0) is not None
    assert not isinstance(parse_range(b"bytes=0-", 0), ByteRange)
    assert not isinstance(parse_range(b"bytes=-5", 0), ByteRange)


def test_if_range_with_current_validators_keeps_the_range(public: Path) -> None:
    """If-Range naming the current ETag or Last-Modified keeps the 206."""
    date = formatdate(MTIME, usegmt=True).encode()
    for validator in (etag_of(public), date):
        reply = get_css(files(public), (b"range", b"bytes=0-1"), (b"if-range", validator))
        assert reply.status == 206


@pytest.mark.parametrize(
    "validator", [b'"stale"', b"W/%s", formatdate(MTIME - 60, usegmt=True).encode(), b"junk"]
)
def test_if_range_with_stale_validator_serves_whole(public: Path, validator: bytes) -> None:
    """If-Range with another ETag, a weak ETag or another date serves the whole file."""
    if b"%s" in validator:
        validator = validator % etag_of(public)
    reply = get_css(files(public), (b"range", b"bytes=0-1"), (b"if-range", validator))
    assert reply.status == 200
    assert reply.file == FileBody(str(public / "style.css"), 0, len(CSS))


# --- try_files ------------------------------------------------------------------------------


def test_try_files_appends_suffixes_by_concatenation(public: Path) -> None:
    """/docs/ + index.html and /studios + .html find their files."""
    static = files(public, try_files=("index.html", ".html"))
    assert served(static.try_files(request("/docs/"), "/docs/")).path == str(
        public / "docs" / "index.html"
    )
    assert served(static.try_files(request("/studios"), "/studios")).path == str(
        public / "studios.html"
    )


def test_try_files_does_not_insert_a_slash(public: Path) -> None:
    """/about + index.html names aboutindex.html, which does not exist: a miss."""
    static = files(public, try_files=("index.html",))
    assert static.try_files(request("/about"), "/about") is None


def test_try_files_first_existing_suffix_wins(public: Path) -> None:
    """/docs with [.html, /index.html] serves docs.html, not docs/index.html."""
    static = files(public, try_files=(".html", "/index.html"))
    assert served(static.try_files(request("/docs"), "/docs")).path == str(public / "docs.html")


def test_try_files_ignores_allowed_extensions(public: Path) -> None:
    """try_files serves .html even when allowed_extensions lists only css."""
    static = files(public, try_files=(".html",), allowed_extensions=("css",))
    assert served(static.try_files(request("/studios"), "/studios")).length > 0


def test_try_files_only_for_extensionless_paths(public: Path) -> None:
    """A path with an extension is not tried with suffixes."""
    static = files(public, try_files=(".html",))
    assert static.try_files(request("/docs.css"), "/docs.css") is None


def test_try_files_strips_root_path(public: Path) -> None:
    """Under a root_path, /showcase/studios is public/studios.html."""
    static = files(public, "/showcase", try_files=(".html",))
    reply = static.try_files(request("/showcase/studios"), "/showcase/studios")
    assert served(reply).path == str(public / "studios.html")


def test_try_files_answers_conditionals_and_ranges(public: Path) -> None:
    """A try_files hit honours Range like a direct one."""
    static = files(public, try_files=(".html",))
    reply = static.try_files(request("/studios", headers=((b"range", b"bytes=0-0"),)), "/studios")
    assert reply is not None and reply.status == 206
    assert header(reply, b"Content-Type") == b"text/html; charset=utf-8"


def test_try_files_never_leaves_the_tree(public: Path) -> None:
    """try_files candidates through a symlink out of the tree are misses."""
    static = files(public, try_files=(".html", "/index.html"))
    assert static.try_files(request("/escdir/secret"), "/escdir/secret") is None
    assert static.try_files(request("/escdir"), "/escdir") is None
    assert static.try_files(request("/escape"), "/escape") is None
    assert static.try_files(request("/../secret"), "/../secret") is None


def test_normalize_trailing_slashes_redirects_directories(public: Path) -> None:
    """/about answers 301 to /about/ (query kept) when about/index.html exists."""
    static = files(public, normalize_trailing_slashes=True)
    reply = static.try_files(request("/about", query=b"x=1&y=2"), "/about")
    assert reply is not None
    assert reply.status == 301
    assert header(reply, b"Location") == b"/about/?x=1&y=2"


def test_normalize_trailing_slashes_needs_an_index(public: Path) -> None:
    """A directory without index.html, or a path with a slash, is not redirected."""
    static = files(public, normalize_trailing_slashes=True)
    assert static.try_files(request("/empty-dir"), "/empty-dir") is None
    assert static.try_files(request("/about/"), "/about/") is None


def test_trailing_slash_redirect_is_off_by_default(public: Path) -> None:
    """Without normalize_trailing_slashes, /about is not redirected."""
    static = files(public, try_files=(".html",))
    assert static.try_files(request("/about"), "/about") is None


def test_trailing_slash_redirect_quotes_the_location(public: Path) -> None:
    """The Location is percent-encoded from the decoded path."""
    write(public / "a b" / "index.html", b"x")
    static = files(public, normalize_trailing_slashes=True)
    reply = static.try_files(request("/a b"), "/a b")
    assert reply is not None and header(reply, b"Location") == b"/a%20b/"


# --- Cache-Control --------------------------------------------------------------------------


def test_no_cache_control_without_policy(public: Path) -> None:
    """Without default or override, no Cache-Control is set."""
    assert files(public).cache_control("/style.css") is None


def test_cache_control_default_and_immutable(public: Path) -> None:
    """The default applies to every path, with immutable when asked."""
    policy = CacheControl(default=3600, default_immutable=True)
    assert files(public, cache_control=policy).cache_control("/x") == (
        b"public, max-age=3600, immutable"
    )


def test_longest_override_prefix_wins(public: Path) -> None:
    """/assets/fonts/ beats /assets/ beats the default."""
    policy = CacheControl(
        default=60,
        overrides=(
            CacheOverride("/assets/", 3600),
            CacheOverride("/assets/fonts/", 31536000, immutable=True),
        ),
    )
    static = files(public, cache_control=policy)
    assert static.cache_control("/assets/fonts/a.woff2") == b"public, max-age=31536000, immutable"
    assert static.cache_control("/assets/app.css") == b"public, max-age=3600"
    assert static.cache_control("/other.css") == b"public, max-age=60"


def test_zero_max_age_is_kept(public: Path) -> None:
    """max_age 0 yields max-age=0 rather than no header."""
    policy = CacheControl(overrides=(CacheOverride("/", 0),))
    assert files(public, cache_control=policy).cache_control("/x") == b"public, max-age=0"


def test_overrides_match_the_full_path_with_root_path(public: Path) -> None:
    """Overrides compare against the request path including root_path."""
    policy = CacheControl(overrides=(CacheOverride("/showcase/docs/", 120),))
    static = files(public, "/showcase", cache_control=policy)
    reply = static.lookup(request("/showcase/docs/page.css"), "/showcase/docs/page.css")
    assert reply is not None and header(reply, b"Cache-Control") == b"public, max-age=120"
    assert static.cache_control("/docs/page.css") is None


# --- property: nothing outside public_dir ---------------------------------------------------

SEGMENTS = [
    "..",
    ".",
    "...",
    "%2e%2e",
    "..%2f",
    "%2f",
    "\\",
    "..\\..",
    "\x00",
    "",
    "a",
    "docs",
    "inner-dir",
    "escdir",
    "outside",
    "public",
    "evilhost",
    "\u2025",
    "\uff0e\uff0e",
]
ENDINGS = [
    "",
    "index.html",
    "style.css",
    "inner-link.css",
    "caf\u00e9.css",
    "secret",
    "secret.css",
    "secret.html",
    "escape",
    "escape.css",
    "escape.html",
    "escdir",
    ".html",
]
segment = st.sampled_from(SEGMENTS) | st.sampled_from(ENDINGS) | st.text(max_size=6)


@pytest.fixture(scope="module")
def shared_public(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield build_tree(tmp_path_factory.mktemp("tree"))


def assert_inside(public: Path, filename: str | None) -> None:
    if filename is None:
        return
    real_root = os.path.realpath(public)
    real = os.path.realpath(filename)
    assert real == real_root or real.startswith(real_root + os.sep), filename
    assert b"SECRET" not in (Path(real).read_bytes() if os.path.isfile(real) else b"")


@settings(max_examples=500, deadline=None)
@given(
    parts=st.lists(segment, max_size=5),
    ending=st.sampled_from(ENDINGS),
    root_path=st.sampled_from(["", "/showcase"]),
    prefixed=st.booleans(),
    method=st.sampled_from([b"GET", b"HEAD"]),
    range_value=st.sampled_from([None, b"bytes=0-3", b"bytes=-2", b"bytes=99-"]),
)
@example(["escdir"], "secret.html", "", False, b"GET", None)
@example([], "escape.css", "/showcase", True, b"GET", None)
@example([], "escape", "", False, b"HEAD", b"bytes=0-3")
@example(["escdir"], "", "", False, b"GET", None)
@example(["docs", ".."], "secret.css", "", False, b"GET", None)
def test_no_path_reads_outside_public_dir(
    shared_public: Path,
    parts: list[str],
    ending: str,
    root_path: str,
    prefixed: bool,
    method: bytes,
    range_value: bytes | None,
) -> None:
    """However a path is built, no reply or safe_join result points outside public_dir."""
    public = shared_public
    path = (root_path if prefixed else "") + "/" + "/".join([*parts, ending])
    headers: Headers = () if range_value is None else ((b"range", range_value),)
    head = request(path, method=method, headers=headers)
    static = files(
        public,
        root_path,
        try_files=("index.html", ".html", "/index.html", "", ".css"),
        normalize_trailing_slashes=True,
    )
    for reply in (static.lookup(head, path), static.try_files(head, path)):
        if reply is None:
            continue
        if reply.file is not None:
            assert_inside(public, reply.file.path)
        if reply.status != 301:
            assert_inside(public, reply.destination)
        location = header(reply, b"Location")
        assert location is None or not location.startswith((b"//", b"/\\"))
    assert_inside(public, safe_join(str(public), path))
