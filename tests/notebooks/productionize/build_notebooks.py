# ruff: noqa: E501 - notebook sources read best unwrapped
"""Regenerate the small notebooks used by the productionize tests (one behaviour each).

Run: .venv/bin/python tests/notebooks/productionize/build_notebooks.py
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
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, HERE / name)


write(
    "tagged.ipynb",
    new_markdown_cell("# Wine classifier (tagged cells)"),
    cell("n_estimators = 30\nmax_depth = 4", "parameters"),
    cell(
        "import pandas as pd\nfrom sklearn.datasets import load_wine\n"
        "from sklearn.ensemble import RandomForestClassifier",
        "imports",
    ),
    cell("df = load_wine(as_frame=True).frame\ndf.describe()", "skip"),
    cell(
        "data = load_wine(as_frame=True).frame\n"
        "X = data.drop(columns=['target'])\ny = data['target']\n"
        "clf = RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, "
        "random_state=0)\nclf.fit(X, y)",
        "train",
    ),
    cell("print(clf.score(X, y))"),
)

write(
    "untagged_eda.ipynb",
    new_markdown_cell("# Breast cancer, exploratory"),
    cell(
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "import pandas as pd\nfrom sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import train_test_split\n"
        "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler"
    ),
    cell("df = load_breast_cancer(as_frame=True).frame\ndf.head()"),
    cell("df.describe()\nprint(df.shape)\ndf['target'].value_counts()"),
    cell("fig, ax = plt.subplots()\ndf['mean radius'].hist(ax=ax)\nplt.show()"),
    cell("corr = df.corr()\ncorr['target'].sort_values()"),
    cell(
        "X = df.drop(columns=['target'])\ny = df['target']\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)"
    ),
    cell(
        "model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))\n"
        "model.fit(X_train, y_train)"
    ),
    cell("accuracy = model.score(X_test, y_test)\naccuracy"),
)

write(
    "helpers.ipynb",
    new_markdown_cell("# Diabetes progression, with feature helpers"),
    cell(
        "import numpy as np\nimport pandas as pd\nfrom sklearn.datasets import load_diabetes\n"
        "from sklearn.linear_model import Ridge\nfrom sklearn.model_selection import train_test_split"
    ),
    cell("raw = load_diabetes(as_frame=True, scaled=False).frame\nraw.describe()"),
    cell(
        "def add_ratios(frame):\n    out = frame.copy()\n"
        "    out['bmi_bp'] = out['bmi'] * out['bp']\n"
        "    out['s1_s2'] = out['s1'] / out['s2']\n    return out"
    ),
    cell(
        "feats = add_ratios(raw)\nfeats['log_s5'] = np.log1p(feats['s5'])\n"
        "X = feats.drop(columns=['target'])\ny = feats['target']"
    ),
    cell(
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)\n"
        "reg = Ridge(alpha=0.5).fit(X_train, y_train)\nreg.score(X_test, y_test)"
    ),
)

write(
    "parameters.ipynb",
    new_markdown_cell("# Wine quality from a CSV, with a categorical column"),
    cell("data_path = 'wine.csv'\nC = 0.5\nseed = 7", "parameters"),
    cell(
        "import pandas as pd\nfrom sklearn.compose import ColumnTransformer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import train_test_split\n"
        "from sklearn.pipeline import Pipeline\n"
        "from sklearn.preprocessing import OneHotEncoder, StandardScaler"
    ),
    cell("wine = pd.read_csv(data_path)\nwine.info()"),
    cell(
        "numeric = [c for c in wine.columns if c not in ('region', 'label')]\n"
        "prep = ColumnTransformer([('num', StandardScaler(), numeric),\n"
        "                          ('cat', OneHotEncoder(handle_unknown='ignore'), ['region'])])\n"
        "X = wine[numeric + ['region']]\ny = wine['label']\n"
        "X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=seed)\n"
        "pipe = Pipeline([('prep', prep), ('clf', LogisticRegression(C=C, max_iter=1000))])\n"
        "pipe.fit(X_tr, y_tr)"
    ),
)

write(
    "magics.ipynb",
    cell("%matplotlib inline\n%load_ext autoreload\nimport pandas as pd\n!echo hello"),
    cell("files = !ls\nlisting = %sx ls\nprint(files)"),
    cell("%%bash\necho not python"),
    cell(
        "%%time\nfrom sklearn.datasets import load_iris\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "iris = load_iris(as_frame=True)\nX, y = iris.data, iris.target\n"
        "tree = DecisionTreeClassifier(max_depth=3, random_state=0)\n%time tree.fit(X, y)\n"
        "tree.fit(X, y)"
    ),
    cell("%timeit tree.predict(X)"),
)

write(
    "unseeded.ipynb",
    cell(
        "from sklearn.datasets import load_diabetes\n"
        "from sklearn.ensemble import RandomForestRegressor\n"
        "X, y = load_diabetes(return_X_y=True, as_frame=True)"
    ),
    cell("forest = RandomForestRegressor(n_estimators=40, min_samples_leaf=3)\nforest.fit(X, y)"),
)

write(
    "no_model.ipynb", cell("import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})\ndf.describe()")
)
write(
    "two_models.ipynb",
    cell(
        "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression\n"
        "from sklearn.tree import DecisionTreeClassifier\nX, y = load_iris(return_X_y=True)"
    ),
    cell(
        "lr = LogisticRegression(max_iter=300)\nlr.fit(X, y)\ndt = DecisionTreeClassifier()\ndt.fit(X, y)"
    ),
)
write(
    "unresolved.ipynb",
    cell("%store -r features_from_elsewhere\nfrom sklearn.linear_model import LinearRegression"),
    cell("lin = LinearRegression()\nlin.fit(features_from_elsewhere, [1, 2, 3])"),
)
write(
    "syntax_error.ipynb",
    cell("import pandas as pd"),
    cell("def broken(:\n    return 1"),
)
(HERE / "not_a_notebook.ipynb").write_text("this is not json\n")

if __name__ == "__main__":
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame = frame.rename(columns={"target": "label"})
    frame["region"] = ["north", "south", "east"] * (len(frame) // 3) + ["north"] * (len(frame) % 3)
    frame.to_csv(HERE / "wine.csv", index=False)
