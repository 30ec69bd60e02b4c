"""The files the docs' examples name (``docs.txt``, ``photos/``, ``cat.png``, ...), small and
made up, so each example runs as written in a folder holding them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TEXTS = ["Cats purr.", "Cars need fuel.", "The sea is salty.", "Owls hunt at night."]
PNG = b"\x89PNG\r\n\x1a\n" + b"c" * 100
PDF = b"%PDF-1.7\n" + b"p" * 100

MY_APP = """\
import textservice

result = textservice.embed_content("models/gemini-embedding-2", ["hello", "world"])
print(len(result["embedding"]), "vectors")
"""


def make_workspace(folder: Path) -> Path:
    """Write every file the examples read into ``folder`` (made if missing); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{text}\n" for text in TEXTS)
    for name in ("docs.txt", "texts.txt"):
        (folder / name).write_text(lines, encoding="utf-8")
    (folder / "queries.txt").write_text("Which animal purrs?\nWhat do cars need?\n")
    ids = [f"doc-{i}" for i in range(len(TEXTS))]
    titles = [f"Title {i}" for i in range(len(TEXTS))]
    with (folder / "docs.csv").open("w", encoding="utf-8") as csv:
        csv.write("doc_id,body,lang,url\n")
        csv.writelines(
            f'{i},"{t}",en,https://example.com/{i}\n' for i, t in zip(ids, TEXTS, strict=True)
        )
    pq.write_table(
        pa.table({"doc_id": ids, "body": TEXTS, "title": titles}), folder / "docs.parquet"
    )
    pq.write_table(pa.table({"doc_id": ids, "body": TEXTS}), folder / "corpus.parquet")
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as jsonl:
        jsonl.writelines(
            json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, TEXTS, strict=True)
        )
    for media in (folder, folder / "photos", folder / "img"):
        media.mkdir(exist_ok=True)
        (media / "cat.png").write_bytes(PNG)
    (folder / "paper.pdf").write_bytes(PDF)
    (folder / "photos" / "paper.pdf").write_bytes(PDF)
    (folder / "photos" / "notes.md").write_text("not media: a bad record with --skip-bad\n")
    (folder / "list.jsonl").write_text(json.dumps({"id": "cat", "file": "img/cat.png"}) + "\n")
    (folder / "docs").mkdir(exist_ok=True)  # a Parquet dataset with a column "text"
    pq.write_table(pa.table({"text": TEXTS}), folder / "docs" / "part-0.parquet")
    (folder / "my_app.py").write_text(MY_APP, encoding="utf-8")
    return folder
