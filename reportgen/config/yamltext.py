"""YAML as reportgen reads it: bounded before it is expanded, and strict about repeats.

A config is small, but whoever writes it (or writes the data `init` reads) may be careless
or hostile. PyYAML on its own keeps the last of two equal keys (so a second `email:` or
`output:` appended to a file silently wins), builds a 581-byte file of nested aliases into
billions of references that every later walk expands, and recurses once per nesting level.
So a text is refused, each time in one line, when it is longer than MAX_BYTES, when its
document nests deeper than MAX_DEPTH or would hold more than MAX_NODES values once its
aliases are expanded (counted on the composed tree, where an alias is a shared node, so
the count itself costs one visit a node), when an alias refers to itself, or when a
mapping holds a key twice.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 2**20
MAX_NODES = 100_000
MAX_DEPTH = 40
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(ValueError):
    """The text breaks one of the bounds above; the message says which, and where."""


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (a merge `<<:` may still be
    overridden by the mapping's own keys, as YAML means it)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader says so itself below
                continue
            if first is not None:
                raise YamlLimitError(
                    f"line {key_node.start_mark.line + 1}: key {str(key)!r:.60} appears twice "
                    f"in one section (first on line {first.start_mark.line + 1}); keep one")
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def load_text(text: str) -> Any:
    """One YAML document, checked against the bounds; YamlLimitError or yaml.YAMLError."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"it is {len(text):,} characters long, more than any config "
                             f"needs (at most {MAX_BYTES:,})")
    loader = StrictLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError as exc:
            raise YamlLimitError(f"it nests deeper than {MAX_DEPTH} levels") from exc
        if node is None:
            return None
        check_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def check_size(root: yaml.Node) -> None:
    """Depth and expanded size of a composed tree, each node visited once (its expanded
    size memoised), so an alias bomb costs no more to measure than its text is long."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_NODES:
                raise YamlLimitError(
                    f"line {node.start_mark.line + 1}: its aliases expand to more than "
                    f"{MAX_NODES:,} values; write the values out instead of nesting aliases")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlLimitError(f"line {node.start_mark.line + 1}: an alias refers to the "
                                 "value that contains it; remove the alias")
        if depth > MAX_DEPTH:
            raise YamlLimitError(f"line {node.start_mark.line + 1}: it nests deeper than "
                                 f"{MAX_DEPTH} levels")
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []
