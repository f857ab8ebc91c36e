"""Loaded by every platform process the bench starts (bench/suite/traffic.py puts this folder on
PYTHONPATH): counts the MongoDB commands the process issues with a PyMongo `CommandListener` and
writes the count to a file of its own every half second, so the bench can take the difference over a
measured window; beside it, `<pid>.json` counts them per database, collection and command, for the
breakdown. Nothing of the platform's code knows about it."""

import json
import os
import sys
import threading

_FOLDER = os.environ.get("WAGW_BENCH_DB_COUNTS")

if _FOLDER:
    from pymongo import monitoring

    class _Counter(monitoring.CommandListener):
        count = 0
        by_kind: dict = {}

        def started(self, event):
            _Counter.count += 1
            target = event.command.get(event.command_name)
            kind = f"{event.database_name}.{target if isinstance(target, str) else '-'}.{event.command_name}"
            _Counter.by_kind[kind] = _Counter.by_kind.get(kind, 0) + 1

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    monitoring.register(_Counter())
    _path = os.path.join(_FOLDER, str(os.getpid()))

    def _write(path, text):
        with open(path + ".tmp", "w") as out:
            out.write(text)
        os.replace(path + ".tmp", path)

    def _write_forever():
        stop = threading.Event()
        while not stop.wait(0.5):
            _write(_path, str(_Counter.count))
            _write(_path + ".json", json.dumps({"program": sys.argv[0], "by_kind": dict(_Counter.by_kind)}))

    threading.Thread(target=_write_forever, name="bench-db-counts", daemon=True).start()
