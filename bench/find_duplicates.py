"""Candidate same-story groups and look-alike pairs for labelling, from a backtest POSTS file
(or the labelled inews posts): posts whose title + lead share many long character shingles.
It only proposes; an analyst judges each candidate (same event -> "same_story"; same
template, different event -> "different_pairs"; see config/labels/README.md).

    python -m bench.find_duplicates POSTS.jsonl [--share 0.3] [--lead 400]
    python -m bench.find_duplicates --inews [--share 0.3]

Prints one candidate group per block: the share of shingles the closest pair has in common,
then id and title of each member."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

_NOISE = re.compile(r"[\W_a-zA-Z0-9]+")


def shingles(title: str, text: str, lead: int = 400, k: int = 6) -> set[str]:
    s = _NOISE.sub("", title or "") + "|" + _NOISE.sub("", (text or "")[:lead])
    return {s[i : i + k] for i in range(len(s) - k + 1)}


def candidates(
    posts: list[dict], share: float = 0.3, lead: int = 400, common: int = 15
) -> list[tuple[float, list[int]]]:
    """Groups (indices into `posts`) joined through pairs sharing at least `share` of the
    smaller post's shingles; shingles held by more than `common` posts (boilerplate) are ignored."""
    sets = [shingles(p.get("title", ""), p.get("text", ""), lead) for p in posts]
    holders: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for x in s:
            holders[x].append(i)
    shared: Counter = Counter()
    for members in holders.values():
        if 1 < len(members) <= common:
            for a in range(len(members)):
                for b in range(a + 1, len(members)):
                    shared[members[a], members[b]] += 1
    parent = list(range(len(posts)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    close = [(a, b, n / max(1, min(len(sets[a]), len(sets[b])))) for (a, b), n in shared.items()]
    close = [(a, b, j) for a, b, j in close if j >= share]
    for a, b, _ in close:
        parent[root(a)] = root(b)
    best: dict[int, float] = {}
    for a, _, j in close:
        best[root(a)] = max(best.get(root(a), 0.0), j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(posts)):
        groups[root(i)].append(i)
    found = [(best.get(r, 0.0), g) for r, g in groups.items() if len(g) > 1]
    return sorted(found, key=lambda x: (-x[0], x[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.find_duplicates",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("posts", nargs="?", type=Path, help="backtest input, one JSON object a line")
    ap.add_argument("--inews", action="store_true", help="the labelled inews train posts of config/labels")
    ap.add_argument("--share", type=float, default=0.3, help="least share of shingles in common (default 0.3)")
    ap.add_argument("--lead", type=int, default=400, help="characters of text after the title (default 400)")
    args = ap.parse_args(argv)
    if bool(args.posts) == args.inews:
        ap.error("give POSTS or --inews")
    if args.inews:
        from jobs.backtest import inews_posts, load_labels

        root = Path(__file__).resolve().parent.parent
        posts = list(inews_posts(load_labels(root / "config" / "labels" / "inews_train.jsonl")))
    else:
        posts = [json.loads(line) for line in args.posts.read_text(encoding="utf-8").splitlines() if line.strip()]
    for j, group in candidates(posts, args.share, args.lead):
        print(f"## {j:.2f}")
        for i in group:
            print(f"  {posts[i].get('id')}\t{(posts[i].get('title') or '')[:60]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
