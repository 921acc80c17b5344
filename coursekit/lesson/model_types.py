"""The types the course's model files may hold: what `skops.io.load(..., trusted=...)` is given.

Models are saved with `skops.io.dump` and loaded with `skops.io.load`, never with pickle: unpickling
a file runs whatever code it names, and a model can come from a bucket anyone with its key can write.
skops loads NumPy, SciPy and scikit-learn's own estimators by default; every other type a file holds
must be listed here, and a file holding one more (a crafted model) is refused with the types it names.
The lists are exactly what `skops.io.get_untrusted_types` reports for the lessons' models.
"""

from __future__ import annotations

# Lesson 2's trip-duration model (02_workflow/orchestrate.py): encoders + HistGradientBoostingRegressor.
TRIP_MODEL = [
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.KFold",
    "sklearn.utils.validation.check_array",
]

# Lesson 2b's churn classifier (02_workflow/classification.py): preprocessing, SelectKBest, a random forest.
CHURN_MODEL = ["numpy.dtype", "sklearn.feature_selection._univariate_selection.f_classif", "sklearn.tree._tree.Tree"]
