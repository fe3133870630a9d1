"""``showcase user add``: the first administrator (or any user) without the admin app.

A fresh index database has no users, so nobody can sign in to the admin app
that would create them.  This command creates the index database if needed and
adds (or updates) one user with a bcrypt password read from standard input (a
prompt on a terminal), so ``showcase config generate`` then writes them to the
htpasswd file.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from showcase.event.forms import Invalid


def configure_add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("userid", help="login name (letters, digits and . _ @ + -)")
    parser.add_argument(
        "--index", default=os.path.join("db", "index.sqlite3"), help="the index database"
    )
    parser.add_argument(
        "--sites", default="index", help="comma-separated location names, or index (everything)"
    )
    parser.add_argument("--email", help="the user's e-mail address")
    parser.set_defaults(run=add)


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise Invalid("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def add(args: argparse.Namespace) -> int:
    from . import fields
    from .access import hash_password
    from .db import open_index

    try:
        userid = fields.login(args.userid)
    except Invalid as e:
        print(f"showcase user add: {args.userid!r}: {e}", file=sys.stderr)
        return 2
    try:
        password = fields.password(_read_password(), required=True)
    except Invalid as e:
        print(f"showcase user add: password: {e}", file=sys.stderr)
        return 1
    assert password is not None
    try:
        db = open_index(args.index)
    except OSError as e:
        print(f"showcase user add: cannot open {args.index}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        names = [row["name"] for row in db.query("SELECT name FROM locations")]
        try:
            sites = fields.site_list(args.sites, names)
        except Invalid as e:
            print(f"showcase user add: --sites: {e}", file=sys.stderr)
            return 1
        hashed = hash_password(password)
        with db.transaction():
            row = db.one("SELECT id FROM users WHERE userid = ?", (userid,))
            if row is None:
                db.insert("users", userid=userid, password=hashed, sites=sites, email=args.email)
            else:
                values = {"password": hashed, "sites": sites}
                if args.email is not None:
                    values["email"] = args.email
                db.update("users", row["id"], **values)
    finally:
        db.close()
    verb = "added" if row is None else "updated"
    print(f"{verb} {userid} (sites: {sites}) in {args.index}; run showcase config generate")
    return 0
