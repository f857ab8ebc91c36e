"""Fetch a Go toolchain from the Go module proxy (the module `golang.org/toolchain`, as the go command
itself does) and unpack it: for machines and image builds without a Go of their own.

usage: fetch_go.py <zip URL> <path prefix inside the zip> <destination directory>"""

import os
import shutil
import sys
import tempfile
import urllib.request
import zipfile

url, prefix, dest = sys.argv[1:]
with tempfile.TemporaryFile() as tmp:
    with urllib.request.urlopen(url, timeout=120) as resp:
        shutil.copyfileobj(resp, tmp)
    with zipfile.ZipFile(tmp) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            target = os.path.join(dest, info.filename[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
# Module zips carry no file modes: make the toolchain's programs executable again.
for sub in ("bin", os.path.join("pkg", "tool")):
    for dirpath, _, files in os.walk(os.path.join(dest, sub)):
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o755)
