"""Field docstrings into the OpenAPI document: each public struct field is documented once.

Python keeps no docstring of a class attribute at run time, so the one string literal right
after a field is read from the source and added to the field's annotation as
`msgspec.Meta(description=...)`, which msgspec ignores when decoding and litestar shows in the
schema. Done once per struct, before the app builds its schemas and decoders.
"""

import ast
import inspect
import itertools
import sys
import textwrap
from typing import Annotated, Any

import msgspec

_DONE = "__tessera_field_docs__"


def field_docstrings(cls: type) -> dict[str, str]:
    """`{field: docstring}` of the fields of `cls` followed by a string literal."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    tree = ast.parse(source)
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs


def document(cls: type[msgspec.Struct]) -> None:
    """Add each documented field's docstring to its annotation (idempotent)."""
    if cls.__dict__.get(_DONE):
        return
    # The class's own dict, changed in place (inspect.get_annotations answers a copy).
    annotations: dict[str, Any] = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    for name, doc in field_docstrings(cls).items():
        annotation = annotations.get(name)
        if annotation is None or isinstance(annotation, str):
            continue  # postponed annotations: left as they are
        annotations[name] = Annotated[annotation, msgspec.Meta(description=doc)]
    setattr(cls, _DONE, True)


def document_loaded_structs(prefix: str = "tessera_") -> None:
    """`document` every struct of the loaded modules named `prefix...`."""
    pending: list[type] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        module = sys.modules.get(cls.__module__)
        if module is not None and cls.__module__.startswith(prefix):
            document(cls)
