# ruff: noqa: E501 - notebook sources read best unwrapped
"""The productionize corpus: notebooks written the way people write them (course EDA, Kaggle
style with CSVs, helper modules, feature code outside Pipelines, save/reload sections, loops of
searches, unseeded models, arrays from a bunch, ColumnTransformer with NaNs, GridSearchCV,
regression, XGBoost and LightGBM), with the data they read.

Each notebook comes with an *oracle*: code appended after the notebook's last cell, written
independently of mlops-nb, that sets ``ORACLE_RAW`` (held-out rows as the notebook loaded them)
and ``ORACLE_PRED`` (what the notebook's own model predicts for them from the notebook's own
features). The tests post ``ORACLE_RAW`` to the generated service and expect ``ORACLE_PRED``.

Run: .venv/bin/python tests/notebooks/productionize/corpus/build_corpus.py
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip("\n"))


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


SPECS: dict[str, dict[str, object]] = {}


def notebook(name: str, cells: list[nbformat.NotebookNode], oracle: str, **spec: object) -> None:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, HERE / f"{name}.ipynb")
    SPECS[name] = {"oracle": oracle.strip("\n"), **spec}


# --------------------------------------------------------------------------------------------
# data (synthetic, seeded; shaped like the public data sets these notebooks are usually about)


def titanic(rng: np.random.Generator, n: int = 620) -> pd.DataFrame:
    pclass = rng.choice([1, 2, 3], n, p=[0.25, 0.2, 0.55])
    sex = rng.choice(["male", "female"], n, p=[0.64, 0.36])
    age = np.round(rng.normal(30, 14, n).clip(0.5, 80), 1)
    age[rng.random(n) < 0.2] = np.nan
    sibsp = rng.choice([0, 1, 2, 3, 4], n, p=[0.68, 0.23, 0.04, 0.03, 0.02])
    parch = rng.choice([0, 1, 2, 3], n, p=[0.76, 0.13, 0.09, 0.02])
    fare = np.round(rng.gamma(2.0, 8 * (4 - pclass)), 2)
    embarked = rng.choice(["S", "C", "Q"], n, p=[0.72, 0.19, 0.09]).astype(object)
    embarked[rng.random(n) < 0.01] = np.nan
    cabin = np.where(rng.random(n) < 0.25, [f"C{k}" for k in rng.integers(1, 150, n)], None)
    logit = 1.2 * (sex == "female") - 0.8 * (pclass - 2) - 0.02 * np.nan_to_num(age, nan=30) + 0.3
    survived = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    titles = ["Mrs" if i % 3 else "Miss" for i in range(n)]
    names = [
        f"Passenger {i}, {titles[i] if sex[i] == 'female' else 'Mr' if i % 5 else 'Master'}. X"
        for i in range(n)
    ]
    return pd.DataFrame(
        {
            "PassengerId": np.arange(1, n + 1),
            "Survived": survived,
            "Pclass": pclass,
            "Name": names,
            "Sex": sex,
            "Age": age,
            "SibSp": sibsp,
            "Parch": parch,
            "Ticket": [f"T{k}" for k in rng.integers(1000, 9999, n)],
            "Fare": fare,
            "Cabin": cabin,
            "Embarked": embarked,
        }
    )


def students(rng: np.random.Generator, n: int = 420) -> pd.DataFrame:
    school = rng.choice(["GP", "MS"], n, p=[0.8, 0.2])
    sex = rng.choice(["F", "M"], n)
    address = rng.choice(["U", "R"], n, p=[0.75, 0.25])
    famsize = rng.choice(["GT3", "LE3"], n, p=[0.7, 0.3])
    studytime = rng.choice([1, 2, 3, 4], n, p=[0.25, 0.5, 0.17, 0.08])
    failures = rng.choice([0, 1, 2, 3], n, p=[0.8, 0.12, 0.05, 0.03])
    absences = rng.poisson(5, n)
    g1 = np.clip(np.round(rng.normal(11, 3, n) + studytime - 2 * failures), 0, 20)
    g2 = np.clip(np.round(g1 + rng.normal(0, 1.5, n)), 0, 20)
    g3 = np.clip(np.round(0.3 * g1 + 0.7 * g2 + rng.normal(0, 1.2, n) - 0.05 * absences), 0, 20)
    frame = pd.DataFrame(
        {
            "school": school,
            "sex": sex,
            "age": rng.integers(15, 22, n),
            "address": address,
            "famsize": famsize,
            "studytime": studytime,
            "failures": failures,
            "absences": absences,
            "G1": g1.astype(int),
            "G2": g2.astype(int),
            "G3": g3.astype(int),
        }
    )
    frame.loc[rng.random(n) < 0.03, "absences"] = np.nan
    return frame


def housing(rng: np.random.Generator, n: int = 520) -> pd.DataFrame:
    area = np.round(rng.lognormal(4.6, 0.35, n))
    rooms = np.clip(np.round(area / 28 + rng.normal(0, 0.8, n)), 1, 9).astype(int)
    age = rng.integers(0, 90, n)
    district = rng.choice(["center", "north", "south", "harbour"], n, p=[0.2, 0.35, 0.35, 0.1])
    base = {"center": 5200, "north": 3300, "south": 2900, "harbour": 4100}
    price = area * np.array([base[d] for d in district]) * (1 - age / 300) + rng.normal(0, 25000, n)
    price[rng.random(n) < 0.02] *= 6  # a few data-entry outliers
    frame = pd.DataFrame(
        {
            "listing_id": [f"L{100000 + i}" for i in range(n)],
            "area_m2": area,
            "rooms": rooms,
            "building_age": age,
            "district": district,
            "has_balcony": rng.random(n) < 0.4,
            "price": np.round(price, -2),
        }
    )
    frame.loc[rng.random(n) < 0.04, "building_age"] = np.nan
    return frame


def churn(rng: np.random.Generator, n: int = 480) -> tuple[pd.DataFrame, pd.DataFrame]:
    plans = pd.DataFrame(
        {
            "plan_id": ["basic", "plus", "pro", "family"],
            "monthly_fee": [9.99, 19.99, 39.99, 29.99],
            "included_gb": [5, 20, 100, 60],
        }
    )
    plan = rng.choice(plans["plan_id"], n, p=[0.4, 0.3, 0.1, 0.2])
    usage = np.round(rng.gamma(2, 6, n), 1)
    tenure = rng.integers(1, 72, n)
    support_calls = rng.poisson(1.2, n)
    fee = plans.set_index("plan_id").loc[plan, "monthly_fee"].to_numpy()
    logit = -1.5 + 0.5 * support_calls - 0.04 * tenure + 0.03 * fee
    churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(5000, 5000 + n),
            "plan_id": plan,
            "usage_gb": usage,
            "tenure_months": tenure,
            "support_calls": support_calls,
            "region": rng.choice(["EU", "US", "APAC"], n),
            "churned": churned,
        }
    )
    customers.loc[rng.random(n) < 0.03, "usage_gb"] = np.nan
    return customers, plans


def messages(rng: np.random.Generator, n: int = 400) -> pd.DataFrame:
    """Short texts, spam or not, the shape of the SMS spam collection."""
    spam_words = ["win", "free", "prize", "cash", "claim", "urgent", "offer", "txt", "reply", "now"]
    ham_words = ["lunch", "meeting", "tomorrow", "home", "mom", "love", "call", "later", "ok", "now"]
    common = ["the", "you", "to", "a", "is", "for", "me", "at", "ur", "pls"]
    rows = []
    for _ in range(n):
        spam = bool(rng.random() < 0.3)
        own = spam_words if spam else ham_words
        other = ham_words if spam else spam_words
        words = list(rng.choice(own, rng.integers(2, 6))) + list(rng.choice(common, 3))
        if rng.random() < 0.2:
            words.append(str(rng.choice(other)))
        rng.shuffle(words)
        text = " ".join(words)
        rows.append({"label": "spam" if spam else "ham", "message": text.capitalize() + "!"})
    return pd.DataFrame(rows)


def write_data() -> None:
    rng = np.random.default_rng(20261203)
    passengers = titanic(rng)
    passengers.to_csv(HERE / "titanic.csv", index=False)
    # Kaggle's split: train.csv with the label, test.csv without
    passengers.iloc[:470].to_csv(HERE / "kaggle_train.csv", index=False)
    passengers.iloc[470:].drop(columns="Survived").to_csv(HERE / "kaggle_test.csv", index=False)
    students(rng).to_csv(HERE / "student-mat.csv", sep=";", index=False)
    housing(rng).to_csv(HERE / "housing.csv", index=False)
    customers, plans = churn(rng)
    customers.to_csv(HERE / "customers.csv", index=False)
    plans.to_csv(HERE / "plans.csv", index=False)
    messages(np.random.default_rng(7)).to_csv(HERE / "sms.csv", index=False)


# --------------------------------------------------------------------------------------------
# the notebooks

notebook(
    "titanic_kaggle",
    [
        md("# Titanic: who survived?\nA first model for the Kaggle competition."),
        code(
            "import numpy as np\nimport pandas as pd\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nfrom sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.metrics import accuracy_score"
        ),
        code("train = pd.read_csv('titanic.csv')\ntrain.head()"),
        code("train.info()\ntrain.isnull().sum()"),
        md("## EDA"),
        code("train.groupby('Sex')['Survived'].mean()"),
        code("fig, ax = plt.subplots()\ntrain['Age'].hist(bins=30, ax=ax)\nplt.show()"),
        code("pd.crosstab(train['Pclass'], train['Survived'], normalize='index')"),
        md("## Cleaning"),
        code(
            "train['Age'] = train['Age'].fillna(train['Age'].median())\ntrain['Embarked'] = train['Embarked'].fillna(train['Embarked'].mode()[0])\ntrain['Fare'] = train['Fare'].fillna(train['Fare'].mean())"
        ),
        code(
            "train['FamilySize'] = train['SibSp'] + train['Parch'] + 1\ntrain['IsAlone'] = (train['FamilySize'] == 1).astype(int)\ntrain['Sex'] = train['Sex'].map({'male': 0, 'female': 1})"
        ),
        code(
            "train = pd.get_dummies(train, columns=['Embarked'], drop_first=True)\ntrain = train.drop(['PassengerId', 'Name', 'Ticket', 'Cabin'], axis=1)\ntrain.head()"
        ),
        md("## Model"),
        code(
            "X = train.drop('Survived', axis=1)\ny = train['Survived']\nX_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=42)"
        ),
        code(
            "model = RandomForestClassifier(n_estimators=100, max_depth=6, random_state=42)\nmodel.fit(X_train, y_train)\npredictions = model.predict(X_val)\nprint('Accuracy:', accuracy_score(y_val, predictions))"
        ),
        code(
            "importances = pd.Series(model.feature_importances_, index=X.columns).sort_values()\nimportances.plot.barh()"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_val.index]
ORACLE_PRED = model.predict(X_val)
""",
    inputs=["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "kaggle_concat",
    [
        md("# Titanic, Kaggle style: clean train and test together"),
        code("import pandas as pd\nfrom sklearn.ensemble import GradientBoostingClassifier\nfrom sklearn.model_selection import train_test_split"),
        code("train = pd.read_csv('kaggle_train.csv')\ntest = pd.read_csv('kaggle_test.csv')\nfull = pd.concat([train, test], sort=False)\nprint(train.shape, test.shape, full.shape)"),
        code("full['Age'] = full['Age'].fillna(full['Age'].median())\nfull['Fare'] = full['Fare'].fillna(full['Fare'].median())\nfull['Embarked'] = full['Embarked'].fillna('S')\nfull['Family'] = full['SibSp'] + full['Parch']\nfull = pd.get_dummies(full, columns=['Sex', 'Embarked'], drop_first=True)"),
        code("features = ['Pclass', 'Age', 'Fare', 'Family', 'Sex_male', 'Embarked_Q', 'Embarked_S']\ntrain_df = full[full['Survived'].notna()]\ntest_df = full[full['Survived'].isna()]\nX = train_df[features]\ny = train_df['Survived'].astype(int)"),
        code("X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0)\ngb = GradientBoostingClassifier(n_estimators=80, random_state=0)\ngb.fit(X_train, y_train)\nprint('val accuracy', gb.score(X_val, y_val))"),
        code("submission = pd.DataFrame({'PassengerId': test_df['PassengerId'], 'Survived': gb.predict(test_df[features])})\nsubmission.head()"),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('kaggle_train.csv').loc[X_val.index]
ORACLE_PRED = gb.predict(X_val)
""",
    fidelity="identical",
    evaluated_on="held-out",
    inputs=["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"],
)

notebook(
    "student_records",
    [
        md("# Student performance (Portuguese schools)\nPredict the final grade G3."),
        code(
            "import pandas as pd\nimport numpy as np\nfrom sklearn.preprocessing import LabelEncoder\nfrom sklearn.ensemble import GradientBoostingRegressor\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.metrics import mean_squared_error, r2_score"
        ),
        code("df = pd.read_csv('student-mat.csv', sep=';')\nprint(df.shape)\ndf.head()"),
        code("df.describe()"),
        code("df.corr(numeric_only=True)['G3'].sort_values(ascending=False)"),
        code(
            "df = df.dropna()\ncategorical = ['school', 'sex', 'address', 'famsize']\nle = LabelEncoder()\nfor col in categorical:\n    df[col] = le.fit_transform(df[col])"
        ),
        code(
            "df['avg_grade'] = (df['G1'] + df['G2']) / 2\ndf['absent_a_lot'] = (df['absences'] > df['absences'].quantile(0.9)).astype(int)"
        ),
        code(
            "X = df.drop(columns=['G3'])\ny = df['G3']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=3)"
        ),
        code(
            "gbr = GradientBoostingRegressor(n_estimators=150, max_depth=3, random_state=0)\ngbr.fit(X_train, y_train)\ny_pred = gbr.predict(X_test)\nrmse = np.sqrt(mean_squared_error(y_test, y_pred))\nprint('RMSE:', rmse, 'R2:', r2_score(y_test, y_pred))"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('student-mat.csv', sep=';').loc[X_test.index]
ORACLE_PRED = gbr.predict(X_test)
""",
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "exploratory_ratios",
    [
        code(
            "import pandas as pd\nimport numpy as np\nfrom sklearn.datasets import load_wine\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.model_selection import train_test_split"
        ),
        code("df = load_wine(as_frame=True).frame\ndf.sample(5, random_state=1)"),
        code(
            "def add_ratios(frame):\n    out = frame.copy()\n    out['flav_per_phenol'] = out['flavanoids'] / out['total_phenols']\n    out['color_hue'] = out['color_intensity'] * out['hue']\n    out['log_proline'] = np.log(out['proline'])\n    return out"
        ),
        code("features = add_ratios(df.drop(columns=['target']))\nfeatures.describe().T.head()"),
        code(
            "y = df['target']\nX_tr, X_te, y_tr, y_te = train_test_split(features, y, test_size=0.3, random_state=11, stratify=y)"
        ),
        code(
            "clf = LogisticRegression(max_iter=5000, C=0.3)\nclf.fit(X_tr, y_tr)\nclf.score(X_te, y_te)"
        ),
    ],
    oracle="""
ORACLE_RAW = load_wine(as_frame=True).frame.loc[X_te.index]
ORACLE_PRED = clf.predict(X_te)
""",
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "scaler_then_dummies",
    [
        md("# Churn: scaling by hand"),
        code(
            "import pandas as pd\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.model_selection import train_test_split"
        ),
        code(
            "customers = pd.read_csv('customers.csv')\ncustomers = customers.dropna(subset=['usage_gb'])\ncustomers['churned'].value_counts()"
        ),
        code(
            "num_cols = ['usage_gb', 'tenure_months', 'support_calls']\nscaler = StandardScaler()\ncustomers[num_cols] = scaler.fit_transform(customers[num_cols])"
        ),
        code(
            "data = pd.get_dummies(customers.drop(columns=['customer_id']), columns=['plan_id', 'region'])\ndata['churned'] = (data['churned'] == 'yes').astype(int)"
        ),
        code(
            "X = data.drop(columns='churned')\ny = data['churned']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=5)\nlogreg = LogisticRegression(max_iter=1000)\nlogreg.fit(X_train, y_train)\nprint(logreg.score(X_test, y_test))"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('customers.csv').loc[X_test.index]
ORACLE_PRED = logreg.predict(X_test)
""",
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "squared_dummies",
    [
        code(
            "import pandas as pd\nfrom sklearn.linear_model import Ridge\nfrom sklearn.model_selection import train_test_split"
        ),
        code("houses = pd.read_csv('housing.csv')\nhouses.head()"),
        code(
            "feats = houses.drop(columns=['listing_id', 'price'])\nfeats['area2'] = feats['area_m2'] ** 2\nfeats['building_age'] = feats['building_age'].fillna(feats['building_age'].median())\nfeats = pd.get_dummies(feats, columns=['district'])"
        ),
        code(
            "target = houses['price']\nXtr, Xte, ytr, yte = train_test_split(feats, target, random_state=8)\nridge = Ridge(alpha=3.0).fit(Xtr, ytr)\nridge.score(Xte, yte)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('housing.csv').loc[Xte.index]
ORACLE_PRED = ridge.predict(Xte)
""",
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "save_reload",
    [
        code(
            "import joblib\nimport pandas as pd\nfrom sklearn.datasets import load_breast_cancer\nfrom sklearn.ensemble import ExtraTreesClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code(
            "bc = load_breast_cancer(as_frame=True)\nX, y = bc.data, bc.target\nX_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)"
        ),
        code(
            "clf = ExtraTreesClassifier(n_estimators=60, random_state=1)\nclf.fit(X_train, y_train)\nprint(clf.score(X_test, y_test))"
        ),
        md("## Save and reload"),
        code(
            "joblib.dump(clf, 'model.joblib')\nclf = joblib.load('model.joblib')\nclf.score(X_test, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = load_breast_cancer(as_frame=True).data.loc[X_test.index]
ORACLE_PRED = clf.predict(X_test)
""",
    fidelity="identical",
    passthrough=True,  # the model reads the raw columns as they are: no feature code served
    evaluated_on="held-out",
    writes=["model.joblib"],
)

notebook(
    "search_loop",
    [
        code(
            "import pandas as pd\nfrom sklearn.datasets import load_wine\nfrom sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import RandomizedSearchCV, train_test_split\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.svm import SVC"
        ),
        code(
            "wine = load_wine(as_frame=True)\nX_train, X_test, y_train, y_test = train_test_split(wine.data, wine.target, test_size=0.3, random_state=2)"
        ),
        code(
            "final = make_pipeline(StandardScaler(), SVC(C=2.0))\nfinal.fit(X_train, y_train)\nfinal.score(X_test, y_test)"
        ),
        md("## Trying other models (exploration)"),
        code(
            "results = {}\nfor n in [10, 30, 60]:\n    search = RandomizedSearchCV(RandomForestClassifier(n_estimators=n), {'max_depth': [2, 4, 8, None]}, n_iter=3, cv=3)\n    search.fit(X_train, y_train)\n    results[n] = search.best_score_\nresults"
        ),
    ],
    oracle="""
ORACLE_RAW = load_wine(as_frame=True).data.loc[X_test.index]
ORACLE_PRED = final.predict(X_test)
""",
    fidelity="identical",
    passthrough=True,  # the model reads the raw columns as they are: no feature code served
    evaluated_on="held-out",
    model_var="final",
)

notebook(
    "unseeded_forest",
    [
        code(
            "import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code(
            "raw = pd.read_csv('customers.csv').dropna()\nX = raw[['usage_gb', 'tenure_months', 'support_calls']]\ny = raw['churned']\nX_train, X_test, y_train, y_test = train_test_split(X, y, random_state=4)"
        ),
        code(
            "forest = RandomForestClassifier(n_estimators=30, max_depth=5)\nforest.fit(X_train, y_train)\nforest.score(X_test, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('customers.csv').loc[X_test.index]
ORACLE_PRED = forest.predict(X_test)
""",
    fidelity="unseeded",
    evaluated_on="held-out",
)

notebook(
    "bunch_arrays",
    [
        md("# Digits of a textbook chapter: arrays from a bunch"),
        code(
            "import numpy as np\nfrom sklearn import datasets\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.linear_model import LogisticRegression"
        ),
        code("d = datasets.load_breast_cancer()\nprint(d.data.shape, d.feature_names[:3])"),
        code(
            "X_train, X_test, y_train, y_test = train_test_split(d.data, d.target, test_size=0.25, random_state=7)\nsc = StandardScaler()\nX_train_std = sc.fit_transform(X_train)\nX_test_std = sc.transform(X_test)"
        ),
        code(
            "lr = LogisticRegression(C=0.5, max_iter=2000)\nmodel = lr.fit(X_train_std, y_train)\nprint('test accuracy', lr.score(X_test_std, y_test))"
        ),
    ],
    oracle="""
_positions = train_test_split(np.arange(len(d.data)), test_size=0.25, random_state=7)[1]
import pandas as _pd
ORACLE_RAW = _pd.DataFrame(d.data, columns=d.feature_names).iloc[_positions]
ORACLE_PRED = lr.predict(X_test_std)
""",
    fidelity="identical",
    evaluated_on="held-out",
    columns_from="feature_names",
)

notebook(
    "column_transformer_nans",
    [
        md("# Mixed types, missing values: the scikit-learn gallery way"),
        code(
            "import pandas as pd\nfrom sklearn.compose import ColumnTransformer\nfrom sklearn.impute import SimpleImputer\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.pipeline import Pipeline\nfrom sklearn.preprocessing import OneHotEncoder, StandardScaler"
        ),
        code(
            "titanic = pd.read_csv('titanic.csv')\nnumeric_features = ['Age', 'Fare', 'SibSp', 'Parch']\ncategorical_features = ['Embarked', 'Sex', 'Pclass']"
        ),
        code(
            "numeric_transformer = Pipeline([('imputer', SimpleImputer(strategy='median')), ('scaler', StandardScaler())])\ncategorical_transformer = Pipeline([('imputer', SimpleImputer(strategy='most_frequent')), ('onehot', OneHotEncoder(handle_unknown='ignore'))])\npreprocessor = ColumnTransformer([('num', numeric_transformer, numeric_features), ('cat', categorical_transformer, categorical_features)])"
        ),
        code(
            "clf = Pipeline([('preprocessor', preprocessor), ('classifier', LogisticRegression())])\nX = titanic.drop('Survived', axis=1)\ny = titanic['Survived']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)\nclf.fit(X_train, y_train)\nprint('model score: %.3f' % clf.score(X_test, y_test))"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = clf.predict(X_test)
""",
    inputs=["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "gridsearch_pipeline",
    [
        code(
            "from sklearn.datasets import load_iris\nfrom sklearn.model_selection import GridSearchCV, train_test_split\nfrom sklearn.pipeline import Pipeline\nfrom sklearn.preprocessing import StandardScaler\nfrom sklearn.neighbors import KNeighborsClassifier"
        ),
        code(
            "iris = load_iris(as_frame=True)\ndf = iris.frame\nX = df[iris.feature_names]\ny = df['target']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.35, random_state=21, stratify=y)"
        ),
        code(
            "pipe = Pipeline([('scale', StandardScaler()), ('knn', KNeighborsClassifier())])\ngrid = GridSearchCV(pipe, {'knn__n_neighbors': [3, 5, 7, 9]}, cv=5)\ngrid.fit(X_train, y_train)\nbest = grid.best_estimator_\nprint(grid.best_params_, best.score(X_test, y_test))"
        ),
    ],
    oracle="""
ORACLE_RAW = load_iris(as_frame=True).frame.loc[X_test.index]
ORACLE_PRED = best.predict(X_test)
""",
    fidelity="identical",
    passthrough=True,  # the model reads the raw columns as they are: no feature code served
    evaluated_on="held-out",
)

notebook(
    "helper_module",
    [
        md("# House prices with the team's feature module"),
        code(
            "import pandas as pd\nfrom sklearn.ensemble import HistGradientBoostingRegressor\nfrom sklearn.model_selection import train_test_split\nfrom housing_features import clean, add_features"
        ),
        code("raw = pd.read_csv('housing.csv')\nraw.describe(include='all')"),
        code(
            "df = clean(raw)\nq_low, q_high = df['price'].quantile([0.01, 0.99])\ndf = df[(df['price'] > q_low) & (df['price'] < q_high)]\nprint(len(raw), '->', len(df))"
        ),
        code(
            "df = add_features(df)\ndf['age_band'] = pd.qcut(df['building_age'], 4, labels=False)\ndf['district'] = df['district'].astype('category').cat.codes"
        ),
        code(
            "X = df.drop(columns=['price', 'listing_id'])\ny = df['price']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=13)\nhgb = HistGradientBoostingRegressor(max_iter=120, random_state=0)\nhgb.fit(X_train, y_train)\nhgb.score(X_test, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('housing.csv').loc[X_test.index]
ORACLE_PRED = hgb.predict(X_test)
""",
    fidelity="identical",
    evaluated_on="held-out",
    files=["housing_features.py"],
)

notebook(
    "lookup_merge",
    [
        md("# Churn with the plan catalogue joined in"),
        code(
            "import pandas as pd\nfrom sklearn.tree import DecisionTreeClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code("customers = pd.read_csv('customers.csv')\nplans = pd.read_csv('plans.csv')\nplans"),
        code(
            "df = customers.merge(plans, on='plan_id', how='left')\ndf['usage_gb'] = df['usage_gb'].fillna(0)\ndf['over_quota'] = (df['usage_gb'] > df['included_gb']).astype(int)\ndf['fee_per_gb'] = df['monthly_fee'] / (df['usage_gb'] + 1)"
        ),
        code(
            "features = ['monthly_fee', 'included_gb', 'over_quota', 'fee_per_gb', 'tenure_months', 'support_calls']\nX = df[features]\ny = df['churned']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=9)\ntree = DecisionTreeClassifier(max_depth=4, random_state=0)\ntree.fit(X_train, y_train)\ntree.score(X_test, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('customers.csv').loc[X_test.index]
ORACLE_PRED = tree.predict(X_test)
""",
    inputs=["plan_id", "usage_gb", "tenure_months", "support_calls"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "xgboost_titanic",
    [
        code(
            "import pandas as pd\nfrom xgboost import XGBClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code(
            "df = pd.read_csv('titanic.csv')\ndf['Sex'] = (df['Sex'] == 'female').astype(int)\ndf['Fam'] = df['SibSp'] + df['Parch']\nX = df[['Pclass', 'Sex', 'Age', 'Fare', 'Fam']]\ny = df['Survived']"
        ),
        code(
            "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=1)\nxgb = XGBClassifier(n_estimators=60, max_depth=3, learning_rate=0.2, random_state=0, n_jobs=1)\nxgb.fit(X_train, y_train)\n(xgb.predict(X_test) == y_test).mean()"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = xgb.predict(X_test)
""",
    fidelity="identical",
    evaluated_on="held-out",
    requires="xgboost",
)

notebook(
    "lightgbm_housing",
    [
        code(
            "import numpy as np\nimport pandas as pd\nimport lightgbm as lgb\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.metrics import mean_absolute_error"
        ),
        code(
            "data = pd.read_csv('housing.csv')\ndata = data[data['price'] < data['price'].quantile(0.98)]\ndata['log_area'] = np.log(data['area_m2'])\ndata = pd.get_dummies(data, columns=['district'])"
        ),
        code(
            "X = data.drop(columns=['price', 'listing_id'])\ny = data['price']\nX_train, X_test, y_train, y_test = train_test_split(X, y, random_state=6)\nreg = lgb.LGBMRegressor(n_estimators=80, num_leaves=15, random_state=0, n_jobs=1, verbose=-1)\nreg.fit(X_train, y_train)\nprint('MAE', mean_absolute_error(y_test, reg.predict(X_test)))"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('housing.csv').loc[X_test.index]
ORACLE_PRED = reg.predict(X_test)
""",
    fidelity="identical",
    evaluated_on="held-out",
    requires="lightgbm",
)

notebook(
    "inplace_cleaning",
    [
        md("# Titanic, cleaned in place"),
        code(
            "import pandas as pd\nfrom sklearn.ensemble import GradientBoostingClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code("df = pd.read_csv('titanic.csv')\ndf.describe()"),
        code(
            "df['Age'].fillna(df['Age'].median(), inplace=True)\ndf['Embarked'].fillna(df['Embarked'].mode()[0], inplace=True)\ndf['Sex'] = df['Sex'].map({'male': 0, 'female': 1})\ndf['Embarked'] = df['Embarked'].map({'S': 0, 'C': 1, 'Q': 2})\ndf.drop(['Name', 'PassengerId', 'Ticket', 'Cabin'], axis=1, inplace=True)"
        ),
        code(
            "X = df.drop('Survived', axis=1)\ny = df['Survived']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=7)"
        ),
        code(
            "gb = GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=0)\ngb.fit(X_train, y_train)\nprint(gb.score(X_test, y_test))"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = gb.predict(X_test)
""",
    inputs=["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "positional_arrays",
    [
        md("# Titanic as arrays: the first 450 passengers train, the rest test"),
        code(
            "import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.preprocessing import StandardScaler"
        ),
        code(
            "data = pd.read_csv('titanic.csv')\ndata.loc[data.Age.isnull(), 'Age'] = data.Age.mean()\ndata['title'] = data.Name.str.extract(r', (\\w+)\\.', expand=False)\ndata['is_mr'] = (data['title'] == 'Mr').astype(int)\ndata['female'] = (data.Sex == 'female').astype(int)\ndata['log_fare'] = np.log1p(data['Fare'])"
        ),
        code(
            "features = ['Pclass', 'Age', 'log_fare', 'SibSp', 'is_mr', 'female']\nX = data[features].values\ny = data['Survived'].values\nscaler = StandardScaler()\nX = scaler.fit_transform(X)"
        ),
        code("clf = LogisticRegression(max_iter=500)\nclf.fit(X[:450], y[:450])\nclf.score(X[450:], y[450:])"),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').iloc[450:]
ORACLE_PRED = clf.predict(X[450:])
""",
    inputs=["Pclass", "Name", "Sex", "Age", "SibSp", "Fare"],
    fidelity="identical",
    evaluated_on="drawn",
)

notebook(
    "search_column_subset",
    [
        md("# A searched pipeline that reads five of the columns"),
        code(
            "import pandas as pd\nfrom sklearn.compose import make_column_transformer\nfrom sklearn.impute import SimpleImputer\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.model_selection import GridSearchCV, train_test_split\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import OneHotEncoder, StandardScaler"
        ),
        code(
            "df = pd.read_csv('titanic.csv')\ny = df.pop('Survived')\nX_train, X_test, y_train, y_test = train_test_split(df, y, test_size=0.25, random_state=3)"
        ),
        code(
            "numeric = make_pipeline(SimpleImputer(strategy='median'), StandardScaler())\nprep = make_column_transformer((numeric, ['Age', 'Fare']), (OneHotEncoder(handle_unknown='ignore'), ['Sex', 'Embarked', 'Pclass']))\nsearch = GridSearchCV(make_pipeline(prep, LogisticRegression(max_iter=1000)), {'logisticregression__C': [0.1, 1.0, 10.0]}, cv=3)\nsearch.fit(X_train, y_train)\nprint(search.best_params_, search.score(X_test, y_test))"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = search.predict(X_test)
""",
    inputs=["Pclass", "Sex", "Age", "Fare", "Embarked"],
    fidelity="identical",
    passthrough=True,  # the model reads the raw columns as they are: no feature code served
    evaluated_on="held-out",
)

notebook(
    "apply_lambda_dummies",
    [
        md("# Titanic: row-wise features, an imputer on two columns, dummies of every text column"),
        code(
            "import numpy as np\nimport pandas as pd\nfrom sklearn.preprocessing import LabelEncoder\nfrom sklearn.impute import SimpleImputer\nfrom sklearn.ensemble import ExtraTreesClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code(
            "df = pd.read_csv('titanic.csv')\ndf = df.drop(columns=['PassengerId', 'Name', 'Ticket', 'Cabin'])\ndf['Sex'] = LabelEncoder().fit_transform(df['Sex'])\nnum_cols = ['Age', 'Fare']\nimp = SimpleImputer(strategy='median')\ndf[num_cols] = imp.fit_transform(df[num_cols])\ndf['rich'] = np.where(df['Fare'] > df['Fare'].quantile(0.75), 1, 0)\ndf['fare_per_year'] = df.apply(lambda r: r['Fare'] / (r['Age'] + 1), axis=1)\ndf['party'] = [s + p for s, p in zip(df['SibSp'], df['Parch'])]\ndf = pd.get_dummies(df)"
        ),
        code(
            "X = df.drop('Survived', axis=1)\ny = df.Survived\nX_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0, stratify=y)\nm = ExtraTreesClassifier(n_estimators=40, random_state=0).fit(X_tr, y_tr)\nm.score(X_te, y_te)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_te.index]
ORACLE_PRED = m.predict(X_te)
""",
    inputs=["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "function_transformer",
    [
        md("# A notebook function inside the Pipeline"),
        code(
            "import numpy as np\nimport pandas as pd\nfrom sklearn.compose import ColumnTransformer\nfrom sklearn.ensemble import HistGradientBoostingClassifier\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.pipeline import Pipeline\nfrom sklearn.preprocessing import FunctionTransformer, OneHotEncoder"
        ),
        code(
            "def add_log_fare(frame):\n    frame = frame.copy()\n    frame['log_fare'] = np.log1p(frame['Fare'])\n    return frame\n\ndf = pd.read_csv('titanic.csv')\nX = df[['Pclass', 'Sex', 'Age', 'Fare', 'Embarked']]\ny = df['Survived']\nX_train, X_test, y_train, y_test = train_test_split(X, y, random_state=2)"
        ),
        code(
            "ct = ColumnTransformer([('cat', OneHotEncoder(handle_unknown='ignore', sparse_output=False), ['Sex', 'Embarked'])], remainder='passthrough')\npipe = Pipeline([('fe', FunctionTransformer(add_log_fare)), ('ct', ct), ('hgb', HistGradientBoostingClassifier(max_iter=60, random_state=0))])\npipe.fit(X_train, y_train)\npipe.score(X_test, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = pipe.predict(X_test)
""",
    inputs=["Pclass", "Sex", "Age", "Fare", "Embarked"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "cross_validated_fit_all",
    [
        md("# Cross-validate, then fit on every row with an age"),
        code(
            "import pandas as pd\nfrom sklearn.model_selection import cross_val_score\nfrom sklearn.neighbors import KNeighborsClassifier\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler"
        ),
        code(
            "df = pd.read_csv('titanic.csv').dropna(subset=['Age'])\nX = df[['Age', 'Fare', 'Pclass']]\ny = df['Survived']\nknn = make_pipeline(StandardScaler(), KNeighborsClassifier(7))\nprint(cross_val_score(knn, X, y, cv=5).mean())\nknn.fit(X, y)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').dropna(subset=['Age']).iloc[::5]
ORACLE_PRED = knn.predict(X.iloc[::5])
""",
    inputs=["Pclass", "Age", "Fare"],
    fidelity="identical",
    passthrough=True,  # the model reads the raw columns as they are: no feature code served
    evaluated_on="drawn",
)

notebook(
    "pick_best_of_loop",
    [
        md("# Three models, keep the best"),
        code(
            "import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\nfrom sklearn.linear_model import LogisticRegression\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.tree import DecisionTreeClassifier"
        ),
        code(
            "df = pd.read_csv('titanic.csv')\nX = df[['Pclass', 'SibSp', 'Parch', 'Fare']].copy()\nX['Age'] = df['Age'].fillna(df['Age'].median())\nX['female'] = (df['Sex'] == 'female').astype(int)\ny = df['Survived']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=11)"
        ),
        code(
            "models = {\n    'logistic': LogisticRegression(max_iter=2000),\n    'tree': DecisionTreeClassifier(max_depth=4, random_state=0),\n    'forest': RandomForestClassifier(n_estimators=60, max_depth=6, random_state=0),\n}\nscores = {}\nfor name, model in models.items():\n    model.fit(X_train, y_train)\n    scores[name] = model.score(X_test, y_test)\npd.Series(scores).sort_values()"
        ),
        code("best = models[max(scores, key=scores.get)]\nprint('best:', best)"),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = best.predict(X_test)
""",
    inputs=["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "title_group_median",
    [
        md("# Titanic: fill each age with the median of the passenger's title"),
        code(
            "import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code(
            "df = pd.read_csv('titanic.csv')\ndf['Title'] = df['Name'].str.extract(r',\\s*([^.]+)\\.', expand=False)\ndf['Age'] = df['Age'].fillna(df.groupby('Title')['Age'].transform('median'))\ndf['FareRatio'] = df['Fare'] / df.groupby('Pclass')['Fare'].transform('mean')\ndf['Female'] = (df['Sex'] == 'female').astype(int)\ndf.groupby('Title')['Age'].median()"
        ),
        code(
            "X = df[['Pclass', 'Age', 'FareRatio', 'Female', 'SibSp']]\ny = df['Survived']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=5)\nforest = RandomForestClassifier(n_estimators=50, max_depth=5, random_state=0).fit(X_train, y_train)\nforest.score(X_test, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = forest.predict(X_test)
""",
    inputs=["Pclass", "Name", "Sex", "Age", "SibSp", "Fare"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "time_ordered_split",
    [
        md("# Housing: the latest 100 listings are held out (no shuffling)"),
        code(
            "import pandas as pd\nfrom sklearn.linear_model import Ridge\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler"
        ),
        code(
            "df = pd.read_csv('housing.csv')\ndf = df.dropna(subset=['area_m2'])\ndf['building_age'] = df['building_age'].fillna(df['building_age'].median())\ndf['area_per_room'] = df['area_m2'] / df['rooms']\ndf = pd.get_dummies(df, columns=['district'])"
        ),
        code(
            "train = df.iloc[:-100]\ntest = df.iloc[-100:]\nfeatures = [c for c in df.columns if c not in ('listing_id', 'price')]"
        ),
        code(
            "model = make_pipeline(StandardScaler(), Ridge(alpha=1.0))\nmodel.fit(train[features], train['price'])\nprint('R2', model.score(test[features], test['price']))"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('housing.csv').loc[test.index]
ORACLE_PRED = model.predict(test[features])
""",
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "group_lambda_fill",
    [
        md("# Titanic: ages filled per sex and class with a lambda"),
        code(
            "import pandas as pd\nfrom sklearn.ensemble import GradientBoostingClassifier\nfrom sklearn.model_selection import train_test_split"
        ),
        code(
            "df = pd.read_csv('titanic.csv')\ndf['Age'] = df.groupby(['Sex', 'Pclass'])['Age'].transform(lambda x: x.fillna(x.median()))\ndf['Female'] = (df['Sex'] == 'female').astype(int)"
        ),
        code(
            "X = df[['Pclass', 'Age', 'Fare', 'Female', 'SibSp']]\ny = df['Survived']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=1)"
        ),
        code(
            "clf = GradientBoostingClassifier(random_state=0)\nclf.fit(X_train, y_train)\nclf.score(X_test, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('titanic.csv').loc[X_test.index]
ORACLE_PRED = clf.predict(X_test)
""",
    inputs=["Pclass", "Sex", "Age", "SibSp", "Fare"],
    fidelity="identical",
    evaluated_on="held-out",
)

notebook(
    "tfidf_outside_pipeline",
    [
        md("# SMS spam: TF-IDF, then naive Bayes"),
        code(
            "import pandas as pd\nfrom sklearn.feature_extraction.text import TfidfVectorizer\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.naive_bayes import MultinomialNB"
        ),
        code(
            "df = pd.read_csv('sms.csv')\ndf['message'] = df['message'].str.lower().str.replace('!', '', regex=False)\nX_train, X_test, y_train, y_test = train_test_split(df['message'], df['label'], test_size=0.2, random_state=42)"
        ),
        code(
            "vectorizer = TfidfVectorizer(ngram_range=(1, 2))\nX_train_tfidf = vectorizer.fit_transform(X_train)\nX_test_tfidf = vectorizer.transform(X_test)"
        ),
        code(
            "nb = MultinomialNB(alpha=0.5)\nnb.fit(X_train_tfidf, y_train)\nnb.score(X_test_tfidf, y_test)"
        ),
    ],
    oracle="""
ORACLE_RAW = pd.read_csv('sms.csv').loc[X_test.index]
ORACLE_PRED = nb.predict(X_test_tfidf)
""",
    inputs=["message"],
    fidelity="identical",
    evaluated_on="held-out",
)

HELPER_MODULE = '''"""Feature helpers shared by the team's housing notebooks."""

import numpy as np
import pandas as pd


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.dropna(subset=["area_m2"]).copy()
    out["building_age"] = out["building_age"].fillna(out["building_age"].median())
    out["has_balcony"] = out["has_balcony"].astype(int)
    return out


def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["area_per_room"] = out["area_m2"] / out["rooms"]
    out["log_area"] = np.log1p(out["area_m2"])
    return out
'''


if __name__ == "__main__":
    write_data()
    (HERE / "housing_features.py").write_text(HELPER_MODULE)
    (HERE / "corpus.json").write_text(json.dumps(SPECS, indent=2) + "\n")
