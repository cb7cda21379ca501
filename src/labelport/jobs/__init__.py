"""Jobs: every export runs as a job with a pollable status.

``store`` is the SQLite job store (claim, progress, result, recovery of jobs
whose process died) and runs a job's spec by its kind; ``export`` is the kind
``labelport export`` and ``labelport.export()`` submit: load or fetch, convert,
deliver, notify.

May import: ``store`` the guards alone (it runs a kind through a dotted path,
so it stands below what it runs); ``export`` conversion, delivery, the Export
API client and the format registry.
"""
