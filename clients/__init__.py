"""Example relying parties (portals) for the idp provider; see clients/README.md."""
