"""Labels: AudioSet's 527 classes and ontology, and a dataset's labels mapped onto them."""

import lazy_loader as _lazy

# One list: the names below come from __init__.pyi (for type checkers too), imported on
# first use.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
