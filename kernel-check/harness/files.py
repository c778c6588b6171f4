"""Output files, written atomically (a temporary file, then a rename), as
every result slabsim writes."""

import json
import os


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path, doc):
    write_text(path, json.dumps(doc, indent=2) + "\n")
