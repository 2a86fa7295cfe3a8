"""The run's defaults and allowed choices, said once: stdlib only, so that the command
line's parser (``--help``, ``--version``) reads them without importing pandas or torch."""

__all__ = ["BATCH_SIZE", "ON_ERROR"]

#: Default windows per forward pass, of every entry point that runs AST (``embed``,
#: ``timestamp_embeddings``, ``extract``, ``fidelity``, the command line).
BATCH_SIZE = 8
#: What a run does with inputs that fail to load.
ON_ERROR = ("warn", "raise", "ignore")
