"""Jobs: every export runs as a job with a pollable status.

``spec`` declares what a job does, one typed spec per kind (an export, a
service export), and its stored form; ``kinds`` is the table of kinds (spec
type -> what runs it) and the one function that runs a job of any kind;
``store`` is the SQLite job store (claim, progress, result, recovery of jobs
whose process died) and the interface every store keeps (``Store``);
``redis_store`` the same jobs on Redis and ``broker`` the queue on it (RQ)
that ``labelport serve --broker`` fills and ``labelport worker`` empties;
``export`` is the kind ``labelport export`` and ``labelport.export()``
submit: load or fetch, convert, deliver, notify;
``preflight`` refuses what can be known before any of it (an export before
its job is stored).

May import: ``spec``, ``kinds``, ``store``, ``redis_store`` and ``broker``
the guards alone (a kind runs through a dotted path, so they stand below what
they run; ``broker`` imports the ``labelport[redis]`` extra on use); ``export``
conversion, delivery, the Export API client and the format registry;
``preflight`` the guards and delivery.
"""
