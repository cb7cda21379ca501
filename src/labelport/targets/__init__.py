"""One package per target service: what Amazon Comprehend, Azure AutoML,
Vertex AI and the Hugging Face Hub accept, in one place each.

A target package holds its service's writer (the format's ``FORMAT``), its
checker (``check(folder) -> list[Finding]``, run after writing and by
``labelport validate``) and the constants and limits both read, so a
service's rule changes in one file.

May import: ``labelport.formats`` (the writers' base), ``labelport.validate``
(the checking kernel), the guards and the model. Nothing above: the
registry and ``labelport validate`` reach a target by dotted path.
"""
