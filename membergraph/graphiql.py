"""GraphiQL served whole by the gateway: no CDN, so it works offline and in locked-down networks.

Strawberry's page loads React, GraphiQL and its explorer plugin from unpkg.com. The same files,
byte for byte (their subresource-integrity hashes in Strawberry's page still match, and the
browser checks them), are kept gzipped in ``static/graphiql/`` (from the npm packages named
below, all MIT-licensed) and served at ``/graphiql/<package>@<version>/<file>``, immutable as
their names carry the version. Updating Strawberry can change its pinned versions: the test of
this module then fails, naming the URL it cannot map.
"""

from __future__ import annotations

import gzip
import re
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.http.ides import get_graphql_ide_html

__all__ = ["ASSETS", "asset", "example_query", "page"]

_FOLDER = Path(__file__).parent / "static" / "graphiql"
_CDN = "https://unpkg.com/"

ASSETS: dict[str, str] = {
    "react@18.2.0/umd/react.production.min.js": "react@18.2.0.react.production.min.js",
    "react-dom@18.2.0/umd/react-dom.production.min.js": (
        "react-dom@18.2.0.react-dom.production.min.js"
    ),
    "js-cookie@3.0.5/dist/js.cookie.min.js": "js-cookie@3.0.5.js.cookie.min.js",
    "graphiql@3.8.3/graphiql.min.css": "graphiql@3.8.3.graphiql.min.css",
    "graphiql@3.8.3/graphiql.min.js": "graphiql@3.8.3.graphiql.min.js",
    "@graphiql/plugin-explorer@1.0.2/dist/style.css": "plugin-explorer@1.0.2.style.css",
    "@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "plugin-explorer@1.0.2.index.umd.js",
}
"""unpkg path → file name in ``static/graphiql`` (stored as ``<name>.gz``)."""

_BY_NAME = {name: path for path, name in ASSETS.items()}
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@cache
def _template() -> str:
    html = get_graphql_ide_html("graphiql")
    for path, name in ASSETS.items():
        html = html.replace(_CDN + path, f"/graphiql/{name}")
    left = re.findall(r"https://unpkg\.com/[^\"']+", html)
    if left:
        raise RuntimeError(f"GraphiQL asset not kept locally: {left[0]}")
    return html


def page(example_query: str) -> str:
    """The GraphiQL page with ``example_query`` in its editor, every asset local."""
    query = example_query.replace("\\", "\\\\").replace("`", "\\`")
    return re.sub(
        r"const EXAMPLE_QUERY = `.*?`;",
        lambda _: f"const EXAMPLE_QUERY = `{query}`;",
        _template(),
        flags=re.S,
    )


@cache
def _compressed(name: str) -> bytes:
    return (_FOLDER / f"{name}.gz").read_bytes()


async def asset(request: Request) -> Response:
    """``/graphiql/{name}``: the gzipped file as is when the client takes gzip (every
    browser does), else unzipped; a year's cache, as a name never changes content."""
    name = request.path_params["name"]
    if name not in _BY_NAME:
        return JSONResponse({"error": "no such GraphiQL asset"}, status_code=404)
    body = _compressed(name)
    headers = {"cache-control": "public, max-age=31536000, immutable", "vary": "accept-encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["content-encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    kind = _TYPES[Path(name).suffix]
    return Response(body, media_type=kind, headers=headers)


def example_query(email: str | None) -> str:
    """The query GraphiQL opens with: a real member of the data being served, looked up by
    her e-mail; with none to show (credentials configured: the page holds no one's data),
    the first members, which runs on any store (user31b: a made-up e-mail was a
    placeholder, its first run ``PLACEHOLDER_IDENTIFIER``)."""
    if email is None:
        return _FIRST_MEMBERS
    return f"""# membergraph: one member graph over CRM, transactions, web analytics, call center.
# Press Ctrl-Enter to run. Try members(first: 5) or member(id: ...) too.
query Profile {{
  memberByIdentifier(kind: EMAIL, value: "  {email.upper()} ") {{
    id
    profile {{ firstName lastName emails {{ value sources }} phones {{ value sources }} }}
    loyalty {{ pointsBalance tier lifetimeSpendCents }}
    transactions(first: 5) {{
      totalCount edges {{ node {{ occurredAt amountCents status channel }} }}
    }}
    records {{ source key }}
    identityHistory {{ kind rule evidence }}
  }}
}}
"""


_FIRST_MEMBERS = """# membergraph: one member graph over CRM, transactions, web analytics, calls.
# Press Ctrl-Enter to run. Then look one up: memberByIdentifier(kind: EMAIL, value: "...").
query FirstMembers {
  members(first: 5) {
    totalCount
    edges { node { id profile { firstName lastName } loyalty { pointsBalance tier } } }
  }
}
"""
