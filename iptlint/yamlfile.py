"""YAML with positions: load a document and find the line and column of any value in it.

Configuration and policy files are validated with jsonschema; an error must point at
the YAML file's line and column, which plain `yaml.safe_load` forgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import yaml


class YamlError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class YamlDocument:
    data: object
    root: yaml.Node | None

    def position(self, path: Sequence[str | int]) -> tuple[int, int]:
        """1-based (line, column) of the value at `path`, or of its deepest existing parent."""
        node = self.root
        best = (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else (1, 1)
        for key in path:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == key:
                        best = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                        node = value_node
                        break
                else:
                    return best
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
                best = (node.start_mark.line + 1, node.start_mark.column + 1)
            else:
                return best
        return best


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


def load(text: str) -> YamlDocument:
    try:
        root = yaml.compose(text, Loader=_LOADER)
        data = yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlError(f"invalid YAML: {error.problem or error}", line, column) from None
    except yaml.YAMLError as error:
        raise YamlError(f"invalid YAML: {error}") from None
    return YamlDocument(data, root)
