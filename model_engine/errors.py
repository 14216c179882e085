"""The model engine's exceptions: one root, specific subclasses whose message says what to do next."""

from __future__ import annotations


class ModelEngineError(Exception):
    """Root of every error raised by :mod:`model_engine`; those caused by the caller's input (an estimator, data,
    a path, a backend name) are also ValueErrors."""


class MissingConverterError(ModelEngineError, ValueError):
    """No converter is registered for an estimator type (the message lists the supported ones)."""


class NotFittedError(ModelEngineError, ValueError):
    """An estimator was handed to the compiler before it was fitted."""


class ConversionError(ModelEngineError, ValueError):
    """A supported estimator uses a configuration the converter cannot express."""


class GraphError(ModelEngineError):
    """A graph is malformed or an operation was used with the wrong inputs or attributes."""


class VerifyError(GraphError):
    """``verify_graph`` found a broken invariant (the message names the node and the rule)."""


class UnknownOpError(GraphError):
    """An op name that is not in the closed op vocabulary."""


class OpTypeError(GraphError):
    """An op received inputs of the wrong dtype or shape, or wrong attributes."""


class PassError(ModelEngineError):
    """A pass failed or left an invalid graph (the message names the pass)."""


class SignatureError(ModelEngineError, ValueError):
    """Input data does not match a model's signature (missing columns, wrong width, unknown category)."""


class ArtifactError(ModelEngineError):
    """A model artifact directory cannot be written or read."""


class ArtifactExistsError(ArtifactError, ValueError):
    """An artifact was to be written where a file or a non-empty folder already is (artifacts are immutable)."""


class PipelineFileError(ModelEngineError, ValueError):
    """A file given as a fitted pipeline cannot be loaded (not a joblib file, truncated, or from other libraries)."""


class TamperedArtifactError(ArtifactError):
    """An artifact's files do not match its manifest: a file was changed, truncated, added or removed."""


class GoldenMismatchError(ArtifactError):
    """A loaded artifact does not reproduce its golden batch on this backend."""


class BackendUnavailableError(ModelEngineError, ValueError):
    """A backend was asked for that cannot run here (unknown name, missing library or device)."""


class ExplanationUnavailableError(ModelEngineError):
    """A model has no explanation graph (the message says why and which model families explain)."""


__all__ = [
    "ArtifactError",
    "ArtifactExistsError",
    "BackendUnavailableError",
    "ConversionError",
    "ExplanationUnavailableError",
    "GoldenMismatchError",
    "GraphError",
    "MissingConverterError",
    "ModelEngineError",
    "NotFittedError",
    "OpTypeError",
    "PassError",
    "PipelineFileError",
    "SignatureError",
    "TamperedArtifactError",
    "UnknownOpError",
    "VerifyError",
]
