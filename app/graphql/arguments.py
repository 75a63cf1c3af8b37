"""Descriptions of arguments that many fields share, so the schema documents every argument once and alike."""

from __future__ import annotations

import strawberry

# Every mutation takes one ``input`` object (``verbNoun(input: VerbNounInput!)``); its type's fields say what goes in.
MUTATION_INPUT = strawberry.argument(description="What to do: the fields of the input type say what each one means.")
NODE_ID = strawberry.argument(description="The object's global ID, as any `id` field of this API gives it.")
