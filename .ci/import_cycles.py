#!/usr/bin/env python3
"""Fails when the modules under src/ import each other in a circle.

The graph is drawn per file: an edge for every `use` path and every inline
`crate::…`/`super::…` path, resolved to the file that defines the item. A
re-export (`pub use x::Y` in a `mod.rs`) is the directory's front, not a
dependency: a path through it leads to the file that defines `Y`. Inline
`#[cfg(test)] mod tests` blocks are left out (tests may reach anywhere).
A reading of the text, not of rustc's name resolution: it errs towards
seeing an edge, never towards missing a circle that the paths spell out.

Usage: python3 .ci/import_cycles.py [src]   (exit 1 and the circles if any)
"""

import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "src"
COMMENT = re.compile(r"//[^\n]*")
REEXPORT = re.compile(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);")
USE = re.compile(r"\buse\s+([^;]+);")
INLINE = re.compile(r"(?<![:\w])((?:crate|super)(?:::\w+)+)")
TESTS = re.compile(r"#\[cfg\(test\)\]\s*mod tests \{")
PATH_MOD = re.compile(r'#\[path = "([^"]+)"\]\s*mod (\w+);')


def read_sources():
    sources = {}
    for folder, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    text = COMMENT.sub("", f.read())
                sources[path] = TESTS.split(text)[0]
    return sources


def module_of(path):
    parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    return tuple(parts[:-1] if parts[-1] in ("mod", "lib", "main") else parts)


def use_paths(tree):
    """`a::{b, c::{d as e}}` -> [[a, b], [a, c, d]]."""
    out = []

    def walk(prefix, text):
        text = text.strip()
        if not text:
            return
        brace = text.find("{")
        if brace < 0:
            out.append(prefix + [s for s in re.sub(r"\s+as\s+\w+", "", text).split("::") if s])
            return
        head = [s for s in text[:brace].split("::") if s]
        inner, depth, part, parts = text[brace + 1 : text.rfind("}")], 0, "", []
        for ch in inner:
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                parts.append(part)
                part = ""
            else:
                part += ch
        parts.append(part)
        for p in parts:
            p = p.strip()
            if p == "self":
                out.append(prefix + head)
            elif p:
                walk(prefix + head, p)

    walk([], tree)
    return out


def main():
    sources = read_sources()
    modules = {module_of(p): p for p in sources}
    for path, text in sources.items():  # `#[path = "x_tests.rs"] mod tests;`
        for m in PATH_MOD.finditer(text):
            modules[module_of(path) + (m.group(2),)] = os.path.join(os.path.dirname(path), m.group(1))
    owner = {p: m for m, p in modules.items()}
    reexports = {}

    def locate(current, segments, follow):
        if segments[0] == "crate":
            base, segments = [], segments[1:]
        elif segments[0] in ("super", "self"):
            base = list(current)
            while segments and segments[0] == "super":
                base, segments = base[:-1], segments[1:]
            if segments and segments[0] == "self":
                segments = segments[1:]
        elif tuple(current) + (segments[0],) in modules:
            base = list(current)
        else:
            return None  # an outside crate
        rest = []
        for i, s in enumerate(segments):
            if tuple(base) + (s,) in modules:
                base.append(s)
            else:
                rest = segments[i:]
                break
        target = modules.get(tuple(base))
        if target and follow and rest and rest[0] != "*":
            target = defining_file(target, rest[0], set())
        return target

    def defines(path, name):
        pattern = r"\b(fn|struct|enum|type|const|static|trait|macro_rules!)\s+" + re.escape(name) + r"\b"
        return re.search(pattern, sources.get(path, "")) is not None

    def defining_file(path, name, seen):
        if path in seen:
            return path
        seen.add(path)
        table = reexports.get(path, {})
        if name in table:
            return defining_file(table[name], name, seen)
        if not defines(path, name):
            for glob in table.get("*", []):
                if defines(glob, name) or name in reexports.get(glob, {}):
                    return defining_file(glob, name, seen)
        return path

    for path, text in sources.items():
        table = {}
        for m in REEXPORT.finditer(text):
            for segments in use_paths(m.group(1)):
                target = locate(list(owner.get(path, module_of(path))), segments[:-1], False) if len(segments) > 1 else None
                if target:
                    if segments[-1] == "*":
                        table.setdefault("*", []).append(target)
                    else:
                        table[segments[-1]] = target
        reexports[path] = table

    edges = {p: set() for p in sources}
    for path, text in sources.items():
        current = list(owner.get(path, module_of(path)))
        text = REEXPORT.sub("", text)
        found = [s for m in USE.finditer(text) for s in use_paths(m.group(1))]
        found += [m.group(1).split("::") for m in INLINE.finditer(text)]
        for segments in found:
            target = locate(current, segments, True) if segments else None
            if target and target != path and target in edges:
                edges[path].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on_stack, circles = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(sources):
        if v not in index:
            visit(v)
    count = sum(len(e) for e in edges.values())
    print(f"import graph: {len(sources)} files, {count} edges, {len(circles)} circles")
    for circle in circles:
        print("circle: " + " <-> ".join(circle))
        for a in circle:
            for b in sorted(edges[a] & set(circle)):
                print(f"    {a} -> {b}")
    return 1 if circles else 0


if __name__ == "__main__":
    sys.exit(main())
