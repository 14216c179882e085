"""Graphs the engine's tests share: small models written with the builder, and a random graph generator."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from model_engine.ir import DType, Graph, Value
from model_engine.ops import GraphBuilder

F64 = DType.FLOAT64


def binary_output(b: GraphBuilder, p: Value) -> None:
    b.output("probabilities", b.op("concat", b.op("sub", b.scalar(1.0, F64), p), p))


def scaler_logistic_graph(n_features: int = 6, seed: int = 0) -> Graph:
    """StandardScaler -> LogisticRegression, written the way a converter would."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder()
    x = b.input("x", F64, n_features)
    centred = b.op("sub", x, b.constant(rng.normal(size=n_features), name="mean"))
    scaled = b.op("div", centred, b.constant(rng.uniform(0.5, 2.0, size=n_features), name="scale"))
    z = b.op("add", b.op("matmul", scaled, b.constant(rng.normal(size=(n_features, 1)), name="coef")),
             b.constant(np.array([0.3]), name="intercept"))  # fmt: skip
    binary_output(b, b.op("sigmoid", z))
    return b.build()


def one_hot_mlp_graph(seed: int = 0) -> Graph:
    """Two numeric columns and one categorical (one-hot) column into a small ReLU MLP."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder()
    x = b.input("x", F64, 4)
    numeric = b.op("gather_columns", x, indices=(0, 1))
    category = b.op("gather_columns", x, indices=(2,))
    hot = b.op("one_hot", category, categories=(0.0, 1.0, 2.0, 5.0))
    features = b.op("concat", numeric, hot)
    h = b.op("relu", b.op("add", b.op("matmul", features, b.constant(rng.normal(size=(6, 8)))),
                          b.constant(rng.normal(size=8))))  # fmt: skip
    z = b.op("add", b.op("matmul", h, b.constant(rng.normal(size=(8, 1)))), b.constant(rng.normal(size=1)))
    binary_output(b, b.op("sigmoid", z))
    return b.build()


def tree_tables(trees: list[Any], n_outputs: int, *, scale: float = 1.0) -> dict[str, np.ndarray[Any, Any]]:
    """Node tables of fitted scikit-learn trees in the ``tree_ensemble`` layout (test-side extraction)."""
    parts: dict[str, list[np.ndarray[Any, Any]]] = {k: [] for k in ("feature", "threshold", "left", "right", "value",
                                                                    "missing_go_left", "tree_roots")}  # fmt: skip
    offset = 0
    for est in trees:
        t = est.tree_
        leaf = t.children_left < 0
        parts["feature"].append(np.where(leaf, 0, t.feature).astype(np.int32))
        parts["threshold"].append(t.threshold.astype(np.float64))
        parts["left"].append(np.where(leaf, -1, t.children_left + offset).astype(np.int32))
        parts["right"].append(np.where(leaf, -1, t.children_right + offset).astype(np.int32))
        parts["value"].append(t.value.reshape(t.node_count, -1)[:, :n_outputs] * scale)
        parts["missing_go_left"].append(np.asarray(t.missing_go_to_left, dtype=bool))
        parts["tree_roots"].append(np.array([offset], dtype=np.int32))
        offset += t.node_count
    return {k: np.concatenate(v) for k, v in parts.items()}


def forest_data(n_rows: int = 300, n_features: int = 5, seed: int = 0) -> tuple[np.ndarray[Any, Any], Any]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    y = (X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] > 0.3).astype(int)
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, y


def forest_graph(max_depth: int | None = 4, n_trees: int = 5, seed: int = 0, n_features: int = 5) -> Graph:
    """A bagged forest of classification trees (mean of class fractions), with NaN-aware splits."""
    X, y = forest_data(n_features=n_features, seed=seed)
    rng = np.random.default_rng(seed)
    trees = []
    for k in range(n_trees):
        rows = rng.integers(0, len(X), len(X))
        trees.append(DecisionTreeClassifier(max_depth=max_depth, random_state=k).fit(X[rows], y[rows]))
    tables = tree_tables(trees, 2)
    b = GraphBuilder()
    x = b.input("x", F64, n_features)
    consts = [b.constant(v, name=k) for k, v in tables.items()]
    b.output("probabilities", b.op("tree_ensemble", x, *consts, aggregation="mean", n_classes=2))
    return b.build()


def boosted_graph(max_depth: int | None = 3, n_trees: int = 8, seed: int = 1) -> Graph:
    """Sequentially fitted regression trees summed through a sigmoid (a gradient-boosting shape)."""
    X, y = forest_data(seed=seed)
    raw = np.zeros(len(X))
    trees = []
    for k in range(n_trees):
        residual = y - 1 / (1 + np.exp(-raw))
        tree = DecisionTreeRegressor(max_depth=max_depth, max_leaf_nodes=12, random_state=k).fit(X, residual)
        raw += 0.5 * np.nan_to_num(tree.predict(X))
        trees.append(tree)
    tables = tree_tables(trees, 1, scale=0.5)
    b = GraphBuilder()
    x = b.input("x", F64, X.shape[1])
    consts = [b.constant(v, name=k) for k, v in tables.items()]
    b.output("probabilities", b.op("tree_ensemble", x, *consts, post_transform="sigmoid", base_score=(-0.2,)))
    return b.build()


UNARY_SAFE = ("sigmoid", "tanh", "relu", "abs", "neg")
BINARY_SAFE = ("add", "sub", "mul", "maximum", "minimum")


def random_graph(rng: np.random.Generator, n_features: int = 5, n_nodes: int = 12) -> Graph:
    """A random, verified graph over numerically tame ops: elementwise, matmul, gather, concat, one-hot, trees."""
    b = GraphBuilder()
    x = b.input("x", F64, n_features)
    pool: list[Value] = [x]
    for _ in range(n_nodes):
        choice = rng.integers(0, 7)
        a = pool[int(rng.integers(len(pool)))]
        width = b.type_of(a).shape[1]
        assert width is not None
        if choice == 0:
            v = b.op(str(rng.choice(UNARY_SAFE)), a)
        elif choice == 1:
            other = b.constant(rng.normal(size=width) if rng.random() < 0.5 else rng.normal(), name="c")
            if rng.random() < 0.3:
                other = b.scalar(float(rng.normal()), F64)
            v = b.op(str(rng.choice(BINARY_SAFE)), a, other) if rng.random() < 0.5 else b.op(
                str(rng.choice(BINARY_SAFE)), other, a)  # fmt: skip
        elif choice == 2:
            v = b.op("matmul", a, b.constant(rng.normal(size=(width, int(rng.integers(1, 5)))) / width, name="w"))
        elif choice == 3:
            k = int(rng.integers(1, width + 1))
            v = b.op("gather_columns", a, indices=tuple(int(i) for i in rng.choice(width, size=k, replace=False)))
        elif choice == 4:
            same_rows = [p for p in pool if b.type_of(p).dtype is F64]
            v = b.op("concat", a, same_rows[int(rng.integers(len(same_rows)))])
        elif choice == 5:
            col = b.op("gather_columns", x, indices=(int(rng.integers(n_features)),))
            rounded = b.op("maximum", b.op("minimum", col, b.scalar(2.0, F64)), b.scalar(-2.0, F64))
            v = b.op("one_hot", rounded, categories=(-2.0, 2.0, 0.0))
        else:
            v = b.op("add", a, a)
        pool.append(v)
    # combine a few values into one output column through a matmul, then a sigmoid
    last = pool[-1]
    width = b.type_of(last).shape[1]
    assert width is not None
    z = b.op("matmul", last, b.constant(rng.normal(size=(width, 1)), name="head"))
    if rng.random() < 0.5:
        trees = forest_graph(max_depth=int(rng.integers(1, 6)), n_trees=3, seed=int(rng.integers(100)))
        tree_node = trees.nodes[0]
        consts = [b.constant(trees.constants[n], name="t") for n in tree_node.inputs[1:]]
        votes = b.op("tree_ensemble", x, *consts, aggregation="mean", n_classes=2)
        z = b.op("add", z, b.op("gather_columns", votes, indices=(1,)))
    binary_output(b, b.op("sigmoid", z))
    return b.build()


def random_input(n_features: int, n_rows: int = 64, seed: int = 0, nan: bool = True) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    X[: n_rows // 4, 2 % n_features] = rng.choice([0.0, 1.0, 2.0, 5.0, 7.0], size=n_rows // 4)
    if nan:
        X[rng.random(X.shape) < 0.03] = np.nan
    return X
