"""The administration console (``/admin``) and the admin API (``/admin/api``): see
docs/administration.md and docs/portals.md."""
