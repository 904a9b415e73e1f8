"""The app ``bench/api.py`` serves (its store is ``$SLUICE_URL``)."""

import os

from sluice import App

app = App(os.environ["SLUICE_URL"])


@app.action()
def echo(body: object, ctx: object) -> None:
    pass
