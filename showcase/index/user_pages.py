"""Users: ``users`` (list), ``users/new``, ``users/<id>/edit``.

A user signs in with ``userid`` and a password stored as a bcrypt hash
(``$2y$``, as ``htpasswd -B`` writes; the generator puts ``userid:hash`` lines
in the router's htpasswd).  ``sites`` is a comma-separated list of location
names, or ``index`` for everything.  Administrators manage every user; anyone
signed in may change their own e-mail, names and password, not their sites.
An empty password on the edit form keeps the old one.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.web.server import Request

from showcase.event import forms

from . import fields
from .access import User, hash_password, require, require_admin, require_signed_in

if TYPE_CHECKING:
    from .app import IndexContext

FIELDS = ("userid", "email", "name1", "name2", "sites")


def register(app: Klein, ctx: IndexContext) -> None:
    db = ctx.db

    def parse(form: forms.Form, user_id: int | None, user: User) -> dict[str, Any]:
        values: dict[str, Any] = {
            "email": form.field("email", forms.email, None),
            "name1": form.field("name1", forms.optional_text, None),
            "name2": form.field("name2", forms.optional_text, None),
        }
        password = form.field("password", partial(fields.password, required=user_id is None), None)
        if password is not None and form.get("password") != form.get("password_confirmation"):
            form.error("password_confirmation", "The two passwords differ.")
        if user.admin:
            names = {str(r["name"]) for r in db.query("SELECT name FROM locations")}
            values["userid"] = form.field("userid", fields.login, "")
            values["sites"] = form.field("sites", partial(fields.site_list, locations=names), "")
            clash = db.value(
                "SELECT id FROM users WHERE userid = ? AND id IS NOT ?",
                [values["userid"], user_id],
            )
            if values["userid"] and clash is not None:
                form.error("userid", "There is already a user with that login name.")
            if user_id == user.id and "index" not in values["sites"].split(","):
                form.error("sites", "Keep index in your own sites, or nobody may be left to admin.")
        if form.ok and password is not None:
            values["password"] = hash_password(password, ctx.bcrypt_rounds)
        return values

    def form_page(
        request: Request, user: User, form: forms.Form, user_id: int | None, status: int = 200
    ) -> bytes:
        form.values.pop("password", None)  # never echoed back
        form.values.pop("password_confirmation", None)
        return ctx.render_for(
            request,
            user,
            "index/user_form.html",
            status=status,
            form=form,
            user_id=user_id,
        )

    def editable(user: User, user_id: int) -> dict[str, Any] | None:
        require_signed_in(user)
        require(user.admin or user.id == user_id, "You may change your own account only.")
        row = db.one("SELECT * FROM users WHERE id = ?", [user_id])
        return dict(row) if row is not None else None

    def save(request: Request, user: User, user_id: int | None) -> bytes:
        ctx.check_csrf(request)
        form = forms.Form.from_args(request.args)
        values = parse(form, user_id, user)
        if not form.ok:
            if not user.admin and user_id is not None:
                row = editable(user, user_id) or {}
                form.values.update(userid=str(row.get("userid")), sites=str(row.get("sites")))
            return form_page(request, user, form, user_id, status=422)
        with db.transaction():
            if user_id is None:
                db.insert("users", **values)
            else:
                db.update("users", user_id, **values)
        ctx.apply(user)
        return ctx.redirect(request, "/users" if user.admin else "/")

    @app.route("/users", methods=["GET"], endpoint="index_users")
    def index(request: Request) -> bytes:
        user = ctx.user(request)
        require_admin(user)
        rows = db.query("SELECT id, userid, email, sites FROM users ORDER BY userid")
        return ctx.render_for(request, user, "index/users.html", users=rows)

    @app.route("/users/new", methods=["GET"], endpoint="index_user_new")
    def new(request: Request) -> bytes:
        user = ctx.user(request)
        require_admin(user)
        return form_page(request, user, forms.Form(), None)

    @app.route("/users/new", methods=["POST"], endpoint="index_user_create")
    def create(request: Request) -> bytes:
        user = ctx.user(request)
        require_admin(user)
        return save(request, user, None)

    @app.route("/users/<int:user_id>/edit", methods=["GET"], endpoint="index_user_edit")
    def edit(request: Request, user_id: int) -> bytes:
        user = ctx.user(request)
        row = editable(user, user_id)
        if row is None:
            return ctx.not_found(request, "No such user")
        return form_page(request, user, forms.form_of(row, FIELDS), user_id)

    @app.route("/users/<int:user_id>/edit", methods=["POST"], endpoint="index_user_update")
    def update(request: Request, user_id: int) -> bytes:
        user = ctx.user(request)
        if editable(user, user_id) is None:
            return ctx.not_found(request, "No such user")
        return save(request, user, user_id)
