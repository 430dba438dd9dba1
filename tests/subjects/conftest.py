"""Pairwise portals are registered with matter classes: the sample catalogue is published first
(the same fixture as the portal tests')."""

from __future__ import annotations

from tests.admin_portals.conftest import catalogue

__all__ = ["catalogue"]
