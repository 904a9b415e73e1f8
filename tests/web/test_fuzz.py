"""Fuzz the API with schemathesis against its own ``/openapi.json``, on both stores: no
server errors, every answer (status, content type, body) matches the document, and invalid
input is rejected with a 4xx.

(schemathesis's pytest plugin does not work with pytest 9 yet, so the test drives its
hypothesis strategies directly, one test per operation.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from sluice import App
from sluice.web.openapi import document
from tests.web.conftest import ADMIN, LiveServer, make_app

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
EXAMPLES = 25
"""Per operation and generation mode: about a minute for the whole file on 2 cores."""

OPERATIONS = [
    (method.upper(), path)
    for path, methods in document(make_app("sqlite:///never-opened.db"))["paths"].items()
    for method in methods
    # The stream of an unfinished run never ends: test_stream.py covers it.
    if not path.endswith("/stream")
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_matches_the_openapi_document(
    server: LiveServer, web_app: App, method: str, path: str
) -> None:
    # Something in every listing, so the schemas of non-empty answers are exercised too.
    web_app.enqueue("echo", {"n": 1}, run=web_app.start_run("fuzz"))
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    operation = schema[path][method]
    wanted = list(CHECKS)
    modes = st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE])

    @given(data=st.data())
    @settings(
        max_examples=2 * EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(data: st.DataObject) -> None:
        mode = data.draw(modes)
        case = data.draw(operation.as_strategy(mode))
        # A valid token, except where a negative case left the header out on purpose.
        keep_out = mode is GenerationMode.NEGATIVE and "Authorization" not in (case.headers or {})
        auth = None if keep_out else {"Authorization": f"Bearer {ADMIN}"}
        case.call_and_validate(base_url=server.base_url, headers=auth, checks=wanted)

    fuzz()
