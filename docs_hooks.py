"""MkDocs hooks: write the CLI and HTTP API reference pages from the code at build time.

The CLI page walks the click command tree; the HTTP page renders the app's OpenAPI document
(``sluice.web.openapi.document``) as tables, so no Swagger UI or CDN is needed.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import click
from mkdocs.structure.files import File, Files

CLI_PAGE = "reference/cli.md"
HTTP_PAGE = "reference/http.md"


def on_files(files: Files, config: Any) -> Files:
    """Add the generated reference pages to the site."""
    files.append(File.generated(config, CLI_PAGE, content=cli_markdown()))
    files.append(File.generated(config, HTTP_PAGE, content=http_markdown()))
    return files


SPHINX_ROLE = re.compile(r":(?:class|meth|func|attr|mod|exc|data):<code>(~?)([^<]*)</code>")


def on_page_content(html: str, **_kwargs: Any) -> str:
    """Docstrings use Sphinx roles (:class:`~sluice.Job`); show them as plain code names."""
    return SPHINX_ROLE.sub(_role, html)


def _role(match: re.Match[str]) -> str:
    short, name = match.groups()
    return f"<code>{name.rsplit('.', 1)[-1] if short else name}</code>"


def cli_markdown() -> str:
    """One section per command of ``sluice``, with its help text and options."""
    # main() imports the command modules to register them; so does this
    from sluice.cli import cli, demo, dlq, queues, runs, scheduler, serve, worker  # noqa: F401

    lines = [
        "# CLI",
        "",
        "Generated from the click commands at build time. Every command takes `--json` (before or",
        "after the command) and `-h`/`--help`.",
        "",
    ]
    _command(lines, cli, ["sluice"], click.Context(cli, info_name="sluice"))
    return "\n".join(lines) + "\n"


def _command(lines: list[str], command: click.Command, path: list[str], ctx: click.Context) -> None:
    name = " ".join(path)
    depth = min(len(path) + 1, 4)
    lines += [f"{'#' * depth} `{name}`", ""]
    lines += [inspect.cleandoc(command.help or "").replace("\b\n", ""), ""]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```text", f"{name} {usage}", "```", ""]
    params = [p for p in command.params if p.name not in ("json", "help")]
    if params:
        lines += ["| option | default | what |", "|---|---|---|"]
        for param in params:
            lines.append(_param_row(param, ctx))
        lines.append("")
    if isinstance(command, click.Group):
        for sub_name in sorted(command.commands):
            sub = command.commands[sub_name]
            if sub.hidden:
                continue
            sub_ctx = click.Context(sub, info_name=sub_name, parent=ctx)
            _command(lines, sub, [*path, sub_name], sub_ctx)


def _param_row(param: click.Parameter, ctx: click.Context) -> str:
    if isinstance(param, click.Option):
        names = ", ".join(f"`{opt}`" for opt in param.opts + param.secondary_opts)
        help_text = param.help or ""
        default = None if param.is_flag or param.show_default is False else param.default
    else:
        names = f"`{param.human_readable_name}` (argument)"
        help_text = ""
        default = None
    if callable(default) or default in (None, False, ()) or "Sentinel" in repr(default):
        shown = ""
    else:
        shown = f"`{default}`"
    kind = param.type.name if not isinstance(param.type, click.types.BoolParamType) else "flag"
    cell = f"{help_text} ({kind})".strip() if kind not in ("text", "flag") else help_text
    return f"| {names} | {shown} | {_cell(cell)} |"


def http_markdown() -> str:
    """The routes of the HTTP API from its OpenAPI document: one table of routes, then one
    section per route with its parameters and responses."""
    from sluice import App
    from sluice.web.openapi import document

    app = App("sqlite:///:memory:")
    try:
        doc = document(app, names=False)
    finally:
        app.close()
    lines = [
        "# HTTP API",
        "",
        f"Generated at build time from the OpenAPI {doc['openapi']} document that",
        "`sluice serve` answers at `/openapi.json` (`src/sluice/web/openapi.py`).",
        "",
        "| method | path | summary |",
        "|---|---|---|",
    ]
    operations = [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]
    for path, method, op in operations:
        lines.append(f"| {method.upper()} | `{path}` | {_cell(op.get('summary', ''))} |")
    lines.append("")
    for path, method, op in operations:
        lines += _operation(path, method, op)
    return "\n".join(lines) + "\n"


def _operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    lines = [f"## {method.upper()} `{path}`", ""]
    if op.get("description") or op.get("summary"):
        lines += [op.get("description") or op["summary"], ""]
    security = op.get("security")
    if security is not None:
        lines += [f"Auth: {'none' if security == [] else 'bearer token'}.", ""]
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | required | what |", "|---|---|---|---|"]
        for p in params:
            required = "yes" if p.get("required") else "no"
            lines.append(
                f"| `{p['name']}` | {p['in']} | {required} | {_cell(p.get('description', ''))} |"
            )
        lines.append("")
    lines += ["| status | what |", "|---|---|"]
    for status, response in op["responses"].items():
        lines.append(f"| {status} | {_cell(response.get('description', ''))} |")
    lines.append("")
    return lines


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
