"""labelport: labeled NLP projects in, training data out, delivered where training happens.

    import labelport
    project = labelport.load("export.zip")
    report = labelport.convert(project, "TSV_IOB", "out/", split={"train": .9, "test": .1}, seed=13)

Importing this package loads no heavy dependency: pandas, pyarrow, datasets
and the cloud SDKs are imported only by the formats and destinations that
need them.
"""

from ._version import __version__
from .api import agreement, convert, export, inspect, load, push
from .conversion.to_hf import to_hf
from .conversion.to_ray import to_ray
from .errors import DeliveryError, InputError, LabelportError, UsageError
from .model import Document, Line, Project, Row, Span

__all__ = [
    "__version__",
    "load",
    "convert",
    "inspect",
    "agreement",
    "export",
    "push",
    "to_hf",
    "to_ray",
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
