"""Lesson 2b: a classification pipeline as seven tasks: which bank customers are about to leave?

The seven steps of the course notes, each a task so that each shows in the UI with its own state,
duration and logs: load, preprocess, split, train (a random forest, after feature selection),
predict, evaluate, save. The flow's input is the location of the data file. The table is generated
by the course (a bank-churn table with a few missing values) and written to that file first, so it
needs no download and no account; give `--data` to classify a CSV of your own with the same columns.

    make stage-2   or   python 02_workflow/classification.py [--data customers.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import skops.io as sio
from prefect import flow, tags, task
from prefect.artifacts import create_markdown_artifact
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from coursekit.files import atomic_file
from coursekit.lesson import churn, paths, run

DATA_FILE = paths.data_dir() / "bank_churn.csv"  # where the generated table is written


# name: what the UI shows. description: what the task is for, kept with it (Prefect 3.9 does not show it in
# the UI). tags: labels to filter runs by, and what tag concurrency limits count. retries: how often to retry.
@task(
    name="Load customers",
    description="Read the customers table from the CSV file the flow was given.",
    tags=["io"],
    retries=2,  # a file on a network share or a mounted bucket can fail to read for a moment
    retry_delay_seconds=1,
)
def load_data(data_path: str) -> pd.DataFrame:
    return pd.read_csv(data_path)


@task(name="Preprocess", description="Keep the feature columns; describe how to fill and encode them.")
def preprocess(customers: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, ColumnTransformer]:
    """The transformer is fitted later, on the training split only: medians and scales computed on
    all rows would leak the test rows into training."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    )
    transformer = ColumnTransformer([("num", numeric, churn.NUMERIC), ("cat", categorical, churn.CATEGORICAL)])
    return customers[churn.NUMERIC + churn.CATEGORICAL], customers[churn.TARGET], transformer


@task(name="Split", description="Hold out 20% of the customers for testing, with the same share who left.")
def split(X: pd.DataFrame, y: pd.Series, seed: int) -> tuple:
    return train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)


@task(
    name="Train with feature selection",
    description="Fit the preprocessing, keep the k features most related to churn, fit a random forest.",
    tags=["model"],
)
def train(X_train: pd.DataFrame, y_train: pd.Series, transformer: ColumnTransformer, k: int, seed: int) -> Pipeline:
    forest = RandomForestClassifier(
        n_estimators=200, min_samples_leaf=5, class_weight="balanced", random_state=seed, n_jobs=1
    )
    model = Pipeline([("preprocess", transformer), ("select", SelectKBest(f_classif, k=k)), ("classify", forest)])
    model.fit(X_train, y_train)
    kept = model["preprocess"].get_feature_names_out()[model["select"].get_support()]
    print(f"Features kept: {', '.join(name.split('__')[1] for name in kept)}")
    return model


@task(name="Predict", description="Predict, for each held-out customer, whether they leave.", tags=["model"])
def predict(model: Pipeline, X_test: pd.DataFrame) -> pd.Series:
    return pd.Series(model.predict(X_test), index=X_test.index)


@task(name="Evaluate", description="Accuracy, and F1 on the customers who leave (the rarer class).")
def evaluate(y_test: pd.Series, predicted: pd.Series) -> dict[str, float]:
    return {"accuracy": accuracy_score(y_test, predicted), "f1": f1_score(y_test, predicted)}


@task(name="Save model", description="Write the fitted pipeline with skops (never pickle).", tags=["io"], retries=2)
def save_model(model: Pipeline) -> str:
    target = paths.models_dir() / "churn_classifier.skops"
    with atomic_file(target) as part:
        sio.dump(model, part)  # see 02_workflow/orchestrate.py's save_model for why not pickle
    return str(target)


@flow(name="churn-classification", description="Which bank customers are about to leave?", log_prints=True)
def churn_classification(data_path: str = str(DATA_FILE), k_features: int = 8, seed: int = 42) -> dict[str, float]:
    if not Path(data_path).is_file():  # checked before any task runs: a wrong path fails at once
        raise FileNotFoundError(
            f"No such file: {data_path}. Give the path of a customers CSV, or run "
            "python 02_workflow/classification.py without --data to generate the course's table."
        )
    customers = load_data(data_path)
    X, y, transformer = preprocess(customers)
    X_train, X_test, y_train, y_test = split(X, y, seed)
    model = train(X_train, y_train, transformer, k_features, seed)
    scores = evaluate(y_test, predict(model, X_test))
    saved = save_model(model)
    print(f"accuracy={scores['accuracy']:.3f} f1={scores['f1']:.3f}, model saved to {saved}")
    create_markdown_artifact(
        key="churn-model-report",
        markdown=(
            "# Churn classifier: a random forest\n\n| metric | value |\n|---|---|\n"
            f"| accuracy | {scores['accuracy']:.3f} |\n| F1 (customers who leave) | {scores['f1']:.3f} |\n"
            f"| data | `{data_path}`: {len(customers):,} customers, 20% held out |\n"
            f"| features kept | {k_features} |\n"
        ),
        description="Accuracy and F1 of the churn classifier on the held-out customers",
    )
    return scores


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help=f"a customers CSV (default: the generated table, {DATA_FILE})")
    args = parser.parse_args()
    if args.data is None and not DATA_FILE.is_file():
        churn.write_customers(DATA_FILE)  # the generated table, written to a file first: the flow reads files
        print(f"Generated 10,000 customers into {DATA_FILE}")
    with tags("lesson-2", "classification"):  # every run and task run started inside carries these tags
        run(churn_classification, data_path=args.data or str(DATA_FILE))

# What just happened: seven task runs in one flow run, tagged lesson-2 and classification (filter the
# Runs page by tag), each with its own tags, description and retries. The Artifacts page has the report
# under the key churn-model-report.
