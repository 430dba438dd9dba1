"""Hypothesis profiles of the fuzz suite (issue 17).

``idp-fuzz-ci`` (the default, run by ``make test`` on both backends) sends a few deterministic
examples to every route; ``idp-fuzz-long`` (``make fuzz``) many random ones. Choose with
``IDP_TEST_FUZZ_PROFILE``; ``IDP_TEST_FUZZ_EXAMPLES`` overrides the number of examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "print_blob": False,
}
settings.register_profile("idp-fuzz-ci", max_examples=12, derandomize=True, **COMMON)
settings.register_profile("idp-fuzz-long", max_examples=300, derandomize=False, **COMMON)


def fuzz_settings() -> settings:
    profile = settings.get_profile(os.environ.get("IDP_TEST_FUZZ_PROFILE", "idp-fuzz-ci"))
    examples = os.environ.get("IDP_TEST_FUZZ_EXAMPLES")
    return settings(profile, max_examples=int(examples)) if examples else profile
