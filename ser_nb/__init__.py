__version__ = "0.1.0"


def __getattr__(name):
    "`ser_nb.pipeline`, imported on first use: `import ser_nb` (and the `ser` command) stays light."
    if name == "pipeline":
        from .model import pipeline
        return pipeline
    raise AttributeError(f"module 'ser_nb' has no attribute {name!r}")
