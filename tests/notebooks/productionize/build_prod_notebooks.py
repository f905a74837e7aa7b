# ruff: noqa: E501 - notebook sources read best unwrapped
"""Regenerate the prod_*.ipynb notebooks: model choice, shell-escape safety, boosting libraries.

Run: .venv/bin/python tests/notebooks/productionize/build_prod_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def cell(source: str, *tags: str) -> nbformat.NotebookNode:
    c = new_code_cell(source.strip("\n"))
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def write(name: str, *cells: nbformat.NotebookNode) -> None:
    nb = new_notebook(cells=list(cells))
    for number, c in enumerate(nb.cells, start=1):
        c.id = f"cell-{number}"  # stable ids: regenerating changes nothing
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, HERE / name)


WINE = """
import pandas as pd
from sklearn.model_selection import train_test_split
df = pd.read_csv("wine.csv")
X = df.drop(columns=["label", "region"])
y = df["label"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
"""

# An exploratory loop of unseeded searches, then the final model fitted once, then a CV loop of
# clones, then a save-and-reload section that rebinds the model variable.
write(
    "prod_search_loop.ipynb",
    new_markdown_cell("# Wine: exploring hyper-parameters, then one final model"),
    cell(WINE),
    cell(
        """
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import RandomizedSearchCV
scores = []
for attempt in range(3):
    search = RandomizedSearchCV(RandomForestClassifier(n_estimators=10), {"max_depth": [2, 3, 4, 5]}, n_iter=2, cv=3)
    search.fit(X_train, y_train)
    scores.append(search.best_score_)
best_depth = 4
"""
    ),
    cell(
        """
final = RandomForestClassifier(n_estimators=25, max_depth=best_depth, random_state=0)
model = final.fit(X_train, y_train)
"""
    ),
    cell(
        """
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
fold_scores = [clone(final).fit(X_train.iloc[tr], y_train.iloc[tr]).score(X_train.iloc[te], y_train.iloc[te]) for tr, te in StratifiedKFold(3).split(X_train, y_train)]
for tr, te in StratifiedKFold(3).split(X_train, y_train):
    m = clone(final)
    m.fit(X_train.iloc[tr], y_train.iloc[tr])
print(model.score(X_test, y_test))
"""
    ),
    new_markdown_cell("## Save and reload"),
    cell(
        """
import joblib, pickle
joblib.dump(model, "model.joblib")
model = joblib.load("model.joblib")
with open("model.pkl", "wb") as fh:
    pickle.dump(final, fh)
with open("model.pkl", "rb") as fh:
    final = pickle.load(fh)
served, version = model, 2
model = model
print(served.predict(X_test[:3]), version)
"""
    ),
)

# A grid search whose best estimator is bound to another name; an unseeded alternative fitted
# earlier; a helper function fitted in a loop.
write(
    "prod_best_estimator.ipynb",
    cell(WINE),
    cell(
        """
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.model_selection import GridSearchCV
trees = ExtraTreesClassifier(n_estimators=20)
trees.fit(X_train, y_train)
"""
    ),
    cell(
        """
def evaluate(C):
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=500))
    clf.fit(X_train, y_train)
    return clf.score(X_test, y_test)

results = {C: evaluate(C) for C in (0.1, 1.0)}
"""
    ),
    cell(
        """
search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), {"logisticregression__C": [0.1, 1.0, 10.0]}, cv=3)
search.fit(X_train, y_train)
best = search.best_estimator_
"""
    ),
)

# Only unseeded models, all fitted in a loop (what is served, and the warning).
write(
    "prod_only_loop.ipynb",
    cell(WINE),
    cell(
        """
from sklearn.tree import DecisionTreeClassifier
for depth in (2, 3):
    tree = DecisionTreeClassifier(max_depth=depth)
    tree.fit(X_train, y_train)
"""
    ),
)

# Shell escapes and shell magics that would touch canary files next to the notebook.
write(
    "prod_shell.ipynb",
    new_markdown_cell("# A notebook with shell lines (each would delete or create a canary)"),
    cell("!rm -f canary.txt\n%sx touch created_by_sx.txt\nlisting = !rm -f canary.txt && ls"),
    cell("%%bash\nrm -f canary.txt\ntouch created_by_bash.txt"),
    cell("%%sh\ntouch created_by_sh.txt"),
    cell("%%!\ntouch created_by_bang_cell.txt"),
    cell("%%script bash\ntouch created_by_script.txt"),
    cell("%system touch created_by_system.txt\n%pip install --no-index definitely-not-a-package"),
    cell(
        "%%writefile ../escaped_by_writefile.txt\nthis file must not be written outside the scratch folder"
    ),
    cell("%%writefile helper_written.py\nOFFSET = 0"),
    cell(
        """
get_ipython().system('rm -f canary.txt')
get_ipython().getoutput('touch created_by_getoutput.txt')
get_ipython().run_line_magic('sx', 'touch created_by_line_magic.txt')
get_ipython().run_cell_magic('bash', '', 'touch created_by_cell_magic.txt')
"""
    ),
    cell(WINE),
    cell(
        """
from sklearn.tree import DecisionTreeClassifier
model = DecisionTreeClassifier(max_depth=4, random_state=0)
model.fit(X_train, y_train)
"""
    ),
)

# Gradient-boosting libraries through their scikit-learn API.
write(
    "prod_xgboost.ipynb",
    cell(WINE),
    cell(
        """
from xgboost import XGBClassifier
model = XGBClassifier(n_estimators=20, max_depth=3, learning_rate=0.3)
model.fit(X_train, y_train)
print(model.score(X_test, y_test))
"""
    ),
)
write(
    "prod_lightgbm_pipeline.ipynb",
    cell(WINE),
    cell(
        """
import lightgbm as lgb
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
pipe = Pipeline([("scale", StandardScaler()), ("gbm", lgb.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1))])
pipe.fit(X_train, y_train)
"""
    ),
)
write(
    "prod_unsupported.ipynb",
    cell(WINE),
    cell(
        """
class MajorityModel:
    def fit(self, X, y):
        self.label_ = y.mode()[0]
        return self
    def predict(self, X):
        return [self.label_] * len(X)

model = MajorityModel()
model.fit(X_train, y_train)
"""
    ),
)
