"""The app ``sluice serve`` loads in test_serve.py (its store is ``$SLUICE_URL``)."""

import os

from tests.web.conftest import make_app

app = make_app(os.environ["SLUICE_URL"])
