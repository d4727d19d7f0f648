"""simedit generator: scene specs -> planned edits -> rendered, verified pairs."""

__version__ = "0.1.0"
