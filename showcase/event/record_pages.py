"""The POST side of a record's form, shared by the organizer pages.

Check the CSRF token, parse the fields, answer 422 with the form again when
any is refused (nothing written), else write in one transaction and 303 back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.web.server import Request

from . import forms
from .context import Context

Parse = Callable[[forms.Form, int | None], dict[str, Any]]
FormPage = Callable[..., bytes]


def submit(
    ctx: Context,
    request: Request,
    row_id: int | None,
    parse: Parse,
    form_page: FormPage,
    write: Callable[[dict[str, Any]], object],
    back: str,
    *,
    csrf_checked: bool = False,
) -> bytes:
    """Save a posted form for row ``row_id`` (None: a new row) with ``write``."""
    if not csrf_checked:
        ctx.check_csrf(request)
    form = forms.Form.from_args(request.args)
    values = parse(form, row_id)
    if not form.ok:
        return form_page(request, form, row_id, status=422)
    with ctx.db.transaction():
        write(values)
    return ctx.redirect(request, back)
