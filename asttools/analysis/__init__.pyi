from . import attention, export, fill_quality, fills, metrics, missing, reduce, robustness
