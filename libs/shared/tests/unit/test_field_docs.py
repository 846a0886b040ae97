"""Field docstrings reach the OpenAPI document (STYLE: each public field documented once)."""

from typing import Annotated

import msgspec
from litestar import Litestar, post
from litestar.params import JSONBody

from tessera_shared.http.field_docs import document, field_docstrings


class Greeting(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=10)]
    """Who is greeted,
    on two lines."""
    loud: bool = False
    times: int = 1
    """How often."""


def test_the_string_after_a_field_is_its_docstring():
    assert field_docstrings(Greeting) == {
        "name": "Who is greeted,\non two lines.",
        "times": "How often.",
    }


def test_documented_fields_show_their_docstring_and_keep_their_constraints_in_the_schema():
    document(Greeting)
    document(Greeting)  # twice is once

    @post("/greet")
    async def greet(data: JSONBody[Greeting]) -> Greeting:
        return data

    schema = Litestar([greet]).openapi_schema.components.schemas["Greeting"].to_schema()
    properties = schema["properties"]
    assert properties["name"]["description"] == "Who is greeted,\non two lines."
    assert properties["name"]["maxLength"] == 10
    assert properties["times"]["description"] == "How often."
    assert "description" not in properties["loud"]
    assert msgspec.json.decode(b'{"name": "Ann"}', type=Greeting).name == "Ann"
