#!/usr/bin/env python3
"""Checks the relative links of the project's Markdown files: every target file or folder
exists, and every `#anchor` names a heading of its target (GitHub's heading anchors) or an
explicit `<a name>`/`id`.

    python3 scripts/check_links.py [FILE.md ...]

Without arguments it checks README.md, ARCHITECTURE.md and docs/*.md. Links with a scheme
(https:, mailto:, ...) are not followed. Links inside code blocks and code spans are not
links. Prints each broken link as FILE:LINE and exits 1 when there is any; standard library
only.
"""
import glob
import os
import re
import sys
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILES = ["README.md", "ARCHITECTURE.md"] + sorted(glob.glob("docs/*.md", root_dir=ROOT))

FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
# [text](target "title") and ![alt](target); text may hold one level of brackets, the target
# one level of parentheses.
INLINE_LINK = re.compile(
    r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_ANCHOR = re.compile(r"<a\s[^>]*\b(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.I)
HTML_ID = re.compile(r"<[a-z][^>]*\bid\s*=\s*[\"']([^\"']+)[\"']", re.I)
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+\s*)?$")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
LINE_ANCHOR = re.compile(r"^L\d+(?:C\d+)?(?:-L\d+(?:C\d+)?)?$")


def mask_code(lines):
    """The lines with fenced code blocks blanked and code spans replaced by spaces of the same
    length, so that neither yields links (line numbers and columns are kept)."""
    out, fence = [], None
    for line in lines:
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            out.append("")
            continue
        if m:
            fence = m.group(1)
            out.append("")
            continue
        out.append(line)
    text = "\n".join(out)
    text = CODE_SPAN.sub(lambda m: " " * len(m.group(0)) if "\n" not in m.group(0) else re.sub(r"[^\n]", " ", m.group(0)), text)
    return text.split("\n")


def heading_text_to_slug(text):
    """GitHub's anchor for a heading: the rendered text, lower-cased, without characters other
    than letters, digits, underscores, hyphens and spaces, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"`+([^`]*)`+", r"\1", text)  # code spans: their content
    text = re.sub(r"(?<!\w)_+(\S(?:.*?\S)?)_+(?!\w)", r"\1", text)  # _emphasis_
    text = text.replace("*", "")
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


_anchor_cache = {}


def anchors_of(path):
    """Every anchor a Markdown file offers: heading slugs (repeats get -1, -2, ...) and
    explicit HTML names and ids."""
    if path in _anchor_cache:
        return _anchor_cache[path]
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    lines = mask_code(raw)
    # mask_code blanks fenced blocks, but headings need the unmasked text of their line.
    anchors, counts = set(), {}

    def add(slug):
        n = counts.get(slug, 0)
        anchors.add(slug if n == 0 else f"{slug}-{n}")
        counts[slug] = n + 1

    for i, line in enumerate(lines):
        if not line.strip():
            continue
        m = ATX_HEADING.match(raw[i]) if line.strip() else None
        if m:
            add(heading_text_to_slug(m.group(2)))
        elif (
            i + 1 < len(lines)
            and SETEXT_UNDERLINE.match(lines[i + 1])
            and lines[i + 1].strip()
            and not line.lstrip().startswith(("-", "*", "+", ">", "|"))
        ):
            add(heading_text_to_slug(raw[i]))
        for pattern in (HTML_ANCHOR, HTML_ID):
            for a in pattern.findall(line):
                anchors.add(a)
    _anchor_cache[path] = anchors
    return anchors


def links_of(path):
    """(line number, target) for every link and reference definition outside code."""
    with open(path, encoding="utf-8") as f:
        lines = mask_code(f.read().split("\n"))
    found = []
    for i, line in enumerate(lines, 1):
        for m in INLINE_LINK.finditer(line):
            found.append((i, m.group(1)))
        m = REFERENCE_DEFINITION.match(line)
        if m:
            found.append((i, m.group(1)))
    return found


def show(path):
    """A path relative to the repository when it is inside it, else as given."""
    rel = os.path.relpath(path, ROOT)
    return path if rel.startswith("..") else rel


def check(path):
    """Messages for the broken links of one file."""
    problems = []
    base = os.path.dirname(path)
    for line, target in links_of(path):
        target = target.strip("<>")
        if not target or SCHEME.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        file_part = urllib.parse.unquote(file_part)
        if file_part.startswith("/"):
            resolved = os.path.join(ROOT, file_part.lstrip("/"))
        elif file_part:
            resolved = os.path.normpath(os.path.join(base, file_part))
        else:
            resolved = path
        where = f"{show(path)}:{line}"
        if not os.path.exists(resolved):
            problems.append(f"{where}: broken link '{target}': {show(resolved)} does not exist")
            continue
        if not anchor:
            continue
        anchor = urllib.parse.unquote(anchor)
        if os.path.isdir(resolved):
            problems.append(f"{where}: broken link '{target}': an anchor on a folder")
        elif resolved.endswith((".md", ".markdown")):
            if anchor not in anchors_of(resolved):
                problems.append(f"{where}: broken link '{target}': no heading or anchor '#{anchor}' in {show(resolved)}")
        elif not LINE_ANCHOR.match(anchor):
            problems.append(f"{where}: broken link '{target}': '#{anchor}' is not a line anchor of {show(resolved)}")
    return problems


def main(argv):
    files = argv[1:] or DEFAULT_FILES
    paths = [f if os.path.isabs(f) else os.path.join(ROOT, f) for f in files]
    problems, count = [], 0
    for p in paths:
        if not os.path.exists(p):
            problems.append(f"{show(p)}: file does not exist")
            continue
        count += len(links_of(p))
        problems += check(p)
    for message in problems:
        print(message)
    if problems:
        print(f"{len(problems)} broken link(s) in {len(paths)} file(s)")
        return 1
    print(f"{count} links in {len(paths)} files: every relative link and anchor resolves")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
