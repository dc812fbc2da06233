"""``schema.graphql`` is what frontend teams generate code from: it must match the code."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema as parse_sdl

from membergraph.schema import build_schema, print_sdl

SDL = Path(__file__).parents[1] / "schema.graphql"


def test_schema_graphql_is_up_to_date() -> None:
    assert SDL.read_text() == print_sdl(), (
        "the schema changed: review the change, then run "
        "`python -c \"from membergraph.schema import print_sdl; open('schema.graphql','w').write(print_sdl())\"`"
    )


def test_every_type_field_and_argument_is_described() -> None:
    # The federation directives (@link, @key) are defined by the router, not in the file;
    # its own types and fields (_Any, _Service, _entities) are described by its spec.
    schema = parse_sdl(SDL.read_text(), assume_valid_sdl=True)
    missing = []
    for name, gql_type in schema.type_map.items():
        if name.startswith("_") or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if not gql_type.description:
            missing.append(name)
        for field_name, field in getattr(gql_type, "fields", {}).items():
            if field_name.startswith("_"):
                continue
            if not field.description:
                missing.append(f"{name}.{field_name}")
            for arg_name, arg in getattr(field, "args", {}).items():
                if not arg.description:
                    missing.append(f"{name}.{field_name}({arg_name})")
        for value_name, value in getattr(gql_type, "values", {}).items():
            if not value.description:
                missing.append(f"{name}.{value_name}")
    assert missing == []


def test_public_names_of_the_design_are_in_the_schema() -> None:
    sdl = build_schema().as_str()
    for name in (
        "memberByIdentifier(",
        "members(",
        "member(",
        "identityHistory",
        "webActivity",
        "callCenterInteractions",
        "totalCount",
        "enum IdentifierKind",
    ):
        assert name in sdl
