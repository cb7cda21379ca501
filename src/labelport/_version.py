"""The version of labelport: one place, read by the package, its reports and
dataset cards, the Export API client's User-Agent, and the build (pyproject.toml,
[tool.hatch.version])."""

__version__ = "0.1.0"
