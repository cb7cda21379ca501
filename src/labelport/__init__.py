"""labelport: labeled NLP projects in, training data out, delivered where training happens.

    import labelport
    project = labelport.load("export.zip")
    report = labelport.convert(project, "TSV_IOB", "out/", split={"train": .9, "test": .1}, seed=13)

Importing this package loads no heavy dependency: pandas, pyarrow, datasets
and the cloud SDKs are imported only by the formats and destinations that
need them.
"""

__version__ = "0.1.0"

from .api import convert, export, inspect, load, push  # noqa: E402
from .errors import DeliveryError, InputError, LabelportError, UsageError  # noqa: E402
from .hf import to_hf  # noqa: E402
from .model import Document, Line, Project, Row, Span  # noqa: E402

__all__ = [
    "__version__",
    "load",
    "convert",
    "inspect",
    "export",
    "push",
    "to_hf",
    "Project",
    "Document",
    "Line",
    "Row",
    "Span",
    "LabelportError",
    "InputError",
    "UsageError",
    "DeliveryError",
]
