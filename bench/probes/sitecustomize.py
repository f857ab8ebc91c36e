"""Loaded by every platform process the bench starts (bench/suite/db_commands.py puts this folder on
PYTHONPATH): counts the MongoDB commands the process issues with a PyMongo `CommandListener` and
writes the count to a file of its own every half second, so the bench can take the difference over a
measured window. Nothing of the platform's code knows about it."""

import os
import threading

_FOLDER = os.environ.get("WAGW_BENCH_DB_COUNTS")

if _FOLDER:
    from pymongo import monitoring

    class _Counter(monitoring.CommandListener):
        count = 0

        def started(self, event):
            _Counter.count += 1

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    monitoring.register(_Counter())
    _path = os.path.join(_FOLDER, str(os.getpid()))

    def _write_forever():
        stop = threading.Event()
        while not stop.wait(0.5):
            with open(_path + ".tmp", "w") as out:
                out.write(str(_Counter.count))
            os.replace(_path + ".tmp", _path)

    threading.Thread(target=_write_forever, name="bench-db-counts", daemon=True).start()
