"""The admin (index) app: users, locations, events and regions over index.sqlite3, and the
router config generated from them (spec/cli.md)."""
