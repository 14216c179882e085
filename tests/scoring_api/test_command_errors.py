"""One error path for every ``fraud`` command (issue 12, point 7 and beyond): what a command raises becomes one
line naming the problem and what to do, card numbers masked, with exit status 2 for bad usage or input and 1 for
failures; the traceback only with ``fraud --debug``."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner, Result

from ingest.simulator import SimulatorConfig, simulate
from ingest.validation.errors import BatchReadError
from lifecycle.registry.errors import DeploymentRefusedError
from scoring_api.cli import app
from scoring_api.command_errors import describe

PAN = "4111111111111111"


@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (BatchReadError(f"cannot read card {PAN}.csv"), 2, "cannot read card 411111******1111.csv"),
        (DeploymentRefusedError("model x is not blessed"), 1, "model x is not blessed"),
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "in.parquet"), 2, "cannot use in.parquet"),
        (OSError(errno.ENOSPC, "No space left on device", "out.parquet"), 1, "No space left on device"),
        (MemoryError(), 1, "out of memory"),
        (KeyError("oops"), 1, "this is a bug: run the command again with fraud --debug"),
    ],
)
def test_each_error_becomes_one_line_and_a_status(error: BaseException, code: int, text: str) -> None:
    message, status = describe(error)
    assert status == code
    assert text in message
    assert "\n" not in message
    assert PAN not in message


def test_a_huge_message_is_cut_short() -> None:
    message, _ = describe(BatchReadError("x" * 100_000))
    assert len(message) <= 600


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.parquet")
    plain = CliRunner().invoke(app, ["features", "build", missing, "--out", str(tmp_path / "o.parquet")])
    assert plain.exit_code == 2
    assert plain.output.startswith("error: ")
    assert plain.output.count("\n") == 1
    debug = CliRunner().invoke(app, ["--debug", "features", "build", missing, "--out", str(tmp_path / "o.parquet")])
    assert debug.exception is not None
    assert not isinstance(debug.exception, SystemExit)
    assert "does not exist" in str(debug.exception)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hostile and careless inputs: an empty file, a file that is no Parquet, a malformed CSV, random bytes,
    transactions without any fraud, no transactions at all, a file that is no registry database, an artifact."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "empty.parquet").write_bytes(b"")
    (folder / "text.parquet").write_text("transaction_id,amount\nt1,3.5\n")
    (folder / "malformed.csv").write_text('amount,f1\n1,2,3\n"unterminated\n')
    (folder / "random.joblib").write_bytes(np.random.default_rng(1).bytes(512))
    (folder / "garbage.sqlite").write_text("not a database")
    transactions = simulate(SimulatorConfig.preset("realistic", days=2, seed=1, n_customers=30, n_terminals=30))
    transactions.transactions.assign(is_fraud=False).to_parquet(folder / "no-fraud.parquet")
    transactions.transactions.head(0).to_parquet(folder / "no-rows.parquet")
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(100, 2)), columns=["amount", "f1"])
    joblib.dump(LogisticRegression().fit(X, X["amount"] > 0), folder / "model.joblib")
    assert (
        CliRunner().invoke(app, ["artifact", "compile", str(folder / "model.joblib"), str(folder / "art")]).exit_code
        == 0
    )
    X.assign(transaction_id=[f"t{i}" for i in range(len(X))]).to_csv(folder / "features.csv", index=False)
    return folder


Case = Callable[[Path, Path], list[str]]
TRAIN = ["train", "--fast", "--families", "logistic_regression"]
CASES: dict[str, tuple[Case, str]] = {
    "features build, empty file": (
        lambda f, t: ["features", "build", str(f / "empty.parquet"), "--out", str(t / "o.parquet")],
        "is not a readable Parquet file",
    ),
    "features build, not Parquet": (
        lambda f, t: ["features", "build", str(f / "text.parquet"), "--out", str(t / "o.parquet")],
        "is not a readable Parquet file",
    ),
    "features build, malformed CSV": (
        lambda f, t: ["features", "build", str(f / "malformed.csv"), "--out", str(t / "o.parquet")],
        "is not a readable Parquet file",
    ),
    "artifact score, empty file": (
        lambda f, t: ["artifact", "score", str(f / "art"), str(f / "empty.parquet"), str(t / "s.csv")],
        "cannot read",
    ),
    "artifact score, not Parquet": (
        lambda f, t: ["artifact", "score", str(f / "art"), str(f / "text.parquet"), str(t / "s.csv")],
        "cannot read",
    ),
    "artifact score, malformed CSV": (
        lambda f, t: ["artifact", "score", str(f / "art"), str(f / "malformed.csv"), str(t / "s.csv")],
        "cannot read",
    ),
    "artifact compile, random bytes": (
        lambda f, t: ["artifact", "compile", str(f / "random.joblib"), str(t / "art")],
        "cannot load a fitted pipeline from",
    ),
    "train, no fraud at all": (
        lambda f, t: [*TRAIN, "--data", str(f / "no-fraud.parquet"), "--run-dir", str(t / "run")],
        "holds no fraud",
    ),
    "train, no transactions": (
        lambda f, t: [*TRAIN, "--data", str(f / "no-rows.parquet"), "--run-dir", str(t / "run")],
        "holds no transactions",
    ),
    "train, labels not Parquet": (
        lambda f, t: [*TRAIN, "--data", str(f / "no-fraud.parquet"), "--labels", str(f / "malformed.csv")],
        "is not a readable Parquet label file",
    ),
    "registry, a garbage file": (
        lambda f, t: ["models", "list", "--registry", f"sqlite:///{f / 'garbage.sqlite'}"],
        "is not a SQLite registry database",
    ),
    "registry, a folder": (
        lambda f, t: ["models", "list", "--registry", f"sqlite:///{f}"],
        "as a SQLite registry database",
    ),
    "registry, unknown scheme": (
        lambda f, t: ["models", "list", "--registry", "mysql://db/registry"],
        "unsupported registry URL scheme 'mysql'",
    ),
    "registry, PostgreSQL without its driver": (
        lambda f, t: ["models", "list", "--registry", "postgresql://fraud:pw@127.0.0.1/registry"],
        "needs its driver",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_careless_and_hostile_commands_get_one_line_and_status_2(
    case: str, files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reproductions of point 7: each of these ended in a traceback.
    monkeypatch.setitem(sys.modules, "psycopg", None)  # importing the driver fails as where it is not installed
    arguments, expected = CASES[case]
    result = CliRunner().invoke(app, arguments(files, tmp_path), env={"FRAUD_MODEL_STORE": str(tmp_path / "s")})
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert expected in errors[0]
    assert "this is a bug" not in result.output
    assert "Traceback" not in result.output


def _score(files: Path, data: Path, out: Path) -> Result:
    return CliRunner().invoke(app, ["artifact", "score", str(files / "art"), str(data), str(out)])


def test_artifact_score_creates_a_missing_output_folder_and_never_writes_over_its_input(files: Path) -> None:
    scored = files / "deeper" / "scores.csv"
    result = CliRunner().invoke(
        app, ["artifact", "score", str(files / "art"), str(files / "features.csv"), str(scored)]
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(scored)) == 100
    # Point 8: `fraud artifact score ART in.csv in.csv` overwrote its input.
    before = (files / "features.csv").read_bytes()
    args = ["artifact", "score", str(files / "art"), str(files / "features.csv")]
    over_input = CliRunner().invoke(app, [*args, str(files / "features.csv"), "--force"])
    assert over_input.exit_code == 2
    assert "also an input" in over_input.output
    assert (files / "features.csv").read_bytes() == before
    again = CliRunner().invoke(app, [*args, str(scored)])
    assert again.exit_code == 2
    assert "pass --force" in again.output


def test_artifact_score_refuses_infinite_values_as_scikit_learn_does(files: Path, tmp_path: Path) -> None:
    # Point 9: the engine scored infinities that scikit-learn refuses.
    frame = pd.read_csv(files / "features.csv")
    frame.loc[3, "f1"] = np.inf
    frame.to_csv(tmp_path / "inf.csv", index=False)
    result = CliRunner().invoke(
        app, ["artifact", "score", str(files / "art"), str(tmp_path / "inf.csv"), str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 2, result.output
    assert "infinite values" in result.output
    assert "['f1']" in result.output
    assert not (tmp_path / "s.csv").exists()


def test_artifact_score_never_copies_a_card_number_from_the_id_column(files: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(files / "features.csv")
    frame.loc[5, "transaction_id"] = PAN
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = CliRunner().invoke(
        app, ["artifact", "score", str(files / "art"), str(tmp_path / "in.csv"), str(tmp_path / "s.csv")]
    )
    assert result.exit_code == 2, result.output
    assert "holds card numbers in clear in 1 rows" in result.output
    assert PAN not in result.output
    assert not (tmp_path / "s.csv").exists()
