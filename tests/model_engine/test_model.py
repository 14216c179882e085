"""compile_model, CompiledModel and Signature: the public surface other packages call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.tree import DecisionTreeClassifier

from model_engine import Signature, compile_model
from model_engine.errors import MissingConverterError, SignatureError


def test_signature_encodes_named_columns_with_vocabularies() -> None:
    sig = Signature(("amount", "channel"), vocabularies={"channel": ("pos", "web")})
    frame = pd.DataFrame({"channel": ["web", "atm", "pos"], "amount": [1.0, 2.0, 3.0]})
    np.testing.assert_array_equal(sig.encode(frame), [[1.0, 1.0], [2.0, -1.0], [3.0, 0.0]])
    assert sig.dtypes == ("float64", "category")
    assert Signature.from_json(sig.to_json()) == sig
    with pytest.raises(SignatureError, match="lacks"):
        sig.encode({"amount": [1.0]})
    with pytest.raises(SignatureError, match="vocabulary"):
        Signature(("a",), dtypes=("category",))


def test_unused_features_are_dropped_and_recorded() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 1] + X[:, 4] > 0).astype(int)
    # a shallow tree reads a few of the six columns: the signature keeps all six, the graph only those
    names = [f"f{i}" for i in range(6)]
    wide = DecisionTreeClassifier(max_depth=3, random_state=0).fit(np.column_stack([X[:, :1] * 0, X[:, 1:]]), y)
    model = compile_model(wide, names)
    used = set(model.signature.graph_features)
    assert used < set(names)
    assert model.graph.inputs[0].type.shape == (None, len(used))
    np.testing.assert_allclose(model.predict_proba(X), wide.predict_proba(np.column_stack([X[:, :1] * 0, X[:, 1:]])),
                               atol=1e-5)  # fmt: skip
    frame = pd.DataFrame(X, columns=names)
    np.testing.assert_array_equal(model.predict_proba(frame), model.predict_proba(X))
    np.testing.assert_array_equal(model.score(X), model.predict_proba(X)[:, 1])


def test_compile_errors_name_the_estimator() -> None:
    X = np.random.default_rng(0).normal(size=(50, 3))
    with pytest.raises(MissingConverterError, match="KMeans"):
        compile_model(KMeans(n_clusters=2, n_init=1).fit(X), ["a", "b", "c"])


def test_wrong_width_input_is_refused() -> None:
    X = np.random.default_rng(0).normal(size=(80, 3))
    model = compile_model(DecisionTreeClassifier(max_depth=2).fit(X, X[:, 0] > 0), ["a", "b", "c"])
    with pytest.raises(SignatureError, match="3 columns"):
        model.predict_proba(X[:, :2])


def test_named_input_columns_are_checked_against_the_signature() -> None:
    """A matrix reordered or renamed is refused when its names are given, never scored as if it were right."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    names = ["amount", "card_count_1d", "terminal_fraud_share_7d"]
    model = compile_model(DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y), names)
    np.testing.assert_array_equal(model.score(X, names=names), model.score(X))
    reversed_names = names[::-1]
    assert not np.array_equal(model.score(X[:, ::-1]), model.score(X)), "unchecked, the reversed matrix scores"
    with pytest.raises(SignatureError, match="column 0 is 'terminal_fraud_share_7d' where the model reads 'amount'"):
        model.score(X[:, ::-1], names=reversed_names)
    with pytest.raises(SignatureError, match=r"missing \['card_count_1d'\], unknown \['card_count_7d'\]"):
        model.score(X, names=["amount", "card_count_7d", "terminal_fraud_share_7d"])
    with pytest.raises(SignatureError, match="missing"):
        model.predict_proba(X[:, :2], names=names[:2])
