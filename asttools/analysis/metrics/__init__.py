"""Evaluation: the numbers a thesis table needs, each with its definition.

The field's tools disagree on details that change the third digit (which classes count
towards a macro mean, whether d′ comes from the mean AUC or is averaged over classes), so
every metric here states its definition, and :func:`evaluate` reports how many classes
each one averages over and how many were skipped.

Definitions used throughout
---------------------------
- **AP** of a class: scikit-learn's ``average_precision_score`` (step-wise area under the
  precision-recall curve, tied scores form one step). Only defined for a class with at
  least one positive clip.
- **mAP**: the unweighted mean of per-class AP over the classes with at least one
  positive; classes without positives are *excluded* (scikit-learn would score them 0
  with a warning) and counted in ``attrs["counts"]["n_classes_skipped"]``.
- **AUC** of a class: ROC AUC (ties count one half, as in ``roc_auc_score``); defined
  when the class has both positive and negative clips. **mAUC**: their unweighted mean.
- **d′**: √2·Φ⁻¹(AUC). ``dprime_ast`` is the original AST code's number, d′ *of the mean
  AUC*: √2·Φ⁻¹(mAUC). ``dprime_hear`` is HEAR's, the mean over classes of √2·Φ⁻¹(AUC_c).
  They differ; report the one your comparison uses. An AUC of 1 gives d′ = +inf.
- **Thresholded precision, recall, F1** (multi-label): a class is predicted when its score
  is ``>= threshold``. *Macro*: the mean of per-class values over the classes with at
  least one positive (precision 0 for a class never predicted). *Micro*: from true
  positives, false positives and false negatives pooled over all evaluated classes.
- **Accuracy** (single-label): the true class has the highest score (ties go to the class
  listed first). **Top-k accuracy**: the true class is among the k highest (a stable sort,
  ties again to the class listed first). **Macro F1** (single-label): mean over classes with
  at least one clip of the per-class F1 of the arg-max predictions.
- **Confidence intervals**: percentile bootstrap over clips (resampled with replacement,
  ``n_boot`` times, seeded). Each resample recomputes the metric from scratch, including
  which classes have positives; resamples where a metric is undefined are skipped and the
  ``note`` says how many.
- **Precision-recall curves** (:func:`pr_curves`, drawn by
  :func:`asttools.plots.plot_pr_curves`): scikit-learn's ``precision_recall_curve``, one
  point per distinct score; the AP beside each curve is the AP above.

Layout
------
``_kernels`` (d′, the bootstrap, AP/AUC of all classes from one sort, P/R/F1, PR curves),
``_align`` (joining truth to predictions, mapping classes to model outputs),
``_evaluate`` (:func:`evaluate`, :func:`per_class_metrics`, :func:`aligned_scores`,
:func:`confusion_matrix`), ``_probe`` (:func:`linear_probe`) and ``_compare`` (tables side
by side: :func:`top_k_table`, each clip's top labels beside its truth, and
:func:`compare_probes`, one probe over several embeddings). Import from
``asttools.analysis.metrics``; the modules behind it are private.
"""

from __future__ import annotations

from ._align import TASKS
from ._compare import compare_probes, top_k_table
from ._evaluate import aligned_scores, confusion_matrix, evaluate, per_class_metrics
from ._kernels import BootstrapCI, bootstrap_ci, dprime, pr_curves
from ._probe import MULTILABEL_POLICIES, ProbeResult, linear_probe

__all__ = [
    "MULTILABEL_POLICIES",
    "TASKS",
    "BootstrapCI",
    "ProbeResult",
    "aligned_scores",
    "bootstrap_ci",
    "compare_probes",
    "confusion_matrix",
    "dprime",
    "evaluate",
    "linear_probe",
    "per_class_metrics",
    "pr_curves",
    "top_k_table",
]
