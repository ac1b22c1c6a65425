"""Vega's SVG, slimmed for WeasyPrint: the same picture in a fraction of the nodes.

WeasyPrint draws an SVG node by node, and Vega writes one node per bar, per grid line and
per tick, plus an empty background and a hidden foreground path around every group: the
sample's five distribution panels were 3,000 nodes and a third of the PDF's layout time.
Runs of sibling paths that differ only in their shape become one path (a histogram
series is one path, as a hand-drawn chart would be), runs of like lines become one path,
and what cannot be seen goes. Only the PDF is slimmed; the HTML keeps Vega's own
interactive rendering.

Merging is safe because Vega puts one mark's items side by side as siblings with
absolute coordinates and no transform: bars of one series do not overlap, so one path
with the same fill and opacity paints exactly what the separate paths painted.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
PATH = f"{{{SVG_NS}}}path"
LINE = f"{{{SVG_NS}}}line"
GROUP = f"{{{SVG_NS}}}g"
UNSEEN_D = {"", "M0,0h0v0h0Z"}
NOT_DRAWN = ("class", "role", "aria-label", "aria-roledescription", "aria-hidden",
             "pointer-events")
GEOMETRY = frozenset({"d", "transform", "x1", "y1", "x2", "y2"})  # what merging rewrites
TRANSLATE_RE = re.compile(r"^translate\(([-\d.e]+),([-\d.e]+)\)$")

ET.register_namespace("xlink", XLINK_NS)


def slim_svg(svg: str) -> str:
    """The SVG with runs of like paths and lines merged and invisible nodes dropped."""
    root = ET.fromstring(svg)
    _slim(root)
    return ET.tostring(_in_default_namespace(root), encoding="unicode")


def _in_default_namespace(root: ET.Element) -> ET.Element:
    """The SVG namespace declared on the root and left off every tag, without ElementTree's
    registry of prefixes: WeasyPrint takes the empty prefix for its PDF metadata when it
    is imported, after which the registry wrote "ns0:" before every tag of every chart."""
    prefix = f"{{{SVG_NS}}}"
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag.startswith(prefix):
            node.tag = node.tag[len(prefix):]
    root.set("xmlns", SVG_NS)
    return root


def _slim(parent: ET.Element) -> None:
    for child in list(parent):
        if _unseen(child):
            parent.remove(child)
            continue
        for name in NOT_DRAWN:
            child.attrib.pop(name, None)
        if child.get("transform") == "translate(0,0)":
            del child.attrib["transform"]
        _slim(child)
        if child.tag == GROUP and not child.attrib:
            _unwrap(parent, child)
    _merge_runs(parent)


def _unseen(node: ET.Element) -> bool:
    """Hidden, empty, or a group's background that Vega leaves unpainted (no fill, no
    stroke of its own, inside the root group's fill="none")."""
    if node.get("display") == "none":
        return True
    if node.tag != PATH:
        return node.tag == GROUP and len(node) == 0
    if node.get("d", "").strip() in UNSEEN_D:
        return True
    return ("background" in node.get("class", "").split() and "fill" not in node.attrib
            and "stroke" not in node.attrib)


def _unwrap(parent: ET.Element, group: ET.Element) -> None:
    """A group with no attributes of its own is only a wrapper: its children take its
    place."""
    index = list(parent).index(group)
    parent.remove(group)
    for offset, node in enumerate(list(group)):
        parent.insert(index + offset, node)


def _merge_runs(parent: ET.Element) -> None:
    """Consecutive siblings with the same drawing attributes become one path."""
    run: list[tuple[ET.Element, str]] = []
    key: tuple[str, ...] | None = None
    for child in list(parent):
        shape = _as_path(child)
        child_key = _style_key(child) if shape is not None else None
        if child_key is not None and child_key == key:
            run.append((child, shape or ""))
            continue
        _replace_run(parent, run)
        run, key = ([(child, shape or "")], child_key) if child_key is not None else ([], None)
    _replace_run(parent, run)


def _as_path(node: ET.Element) -> str | None:
    """The node's outline as absolute path data, or None when it cannot be merged."""
    if node.tag == PATH and "transform" not in node.attrib and len(node) == 0:
        return node.get("d")
    if node.tag == LINE and len(node) == 0:
        shift = _translation(node.get("transform"))
        if shift is None:
            return None
        dx, dy = shift
        x1, y1 = float(node.get("x1", 0)) + dx, float(node.get("y1", 0)) + dy
        x2, y2 = float(node.get("x2", 0)) + dx, float(node.get("y2", 0)) + dy
        return f"M{x1:g},{y1:g}L{x2:g},{y2:g}"
    return None


def _translation(transform: str | None) -> tuple[float, float] | None:
    if transform is None:
        return 0.0, 0.0
    found = TRANSLATE_RE.match(transform.replace(" ", ""))
    if not found:
        return None
    return float(found.group(1)), float(found.group(2))


def _style_key(node: ET.Element) -> tuple[str, ...]:
    return (node.tag, *sorted(f"{k}={v}" for k, v in node.attrib.items() if k not in GEOMETRY))


def _replace_run(parent: ET.Element, run: list[tuple[ET.Element, str]]) -> None:
    if len(run) < 2:
        return
    first = run[0][0]
    merged = ET.Element(PATH, {k: v for k, v in first.attrib.items() if k not in GEOMETRY})
    merged.set("d", "".join(shape for _, shape in run))
    if first.tag == LINE and "fill" not in merged.attrib:
        merged.set("fill", "none")  # a line has no inside; a path has, unless told
    merged.tail = first.tail
    index = list(parent).index(first)
    for node, _ in run:
        parent.remove(node)
    parent.insert(index, merged)
