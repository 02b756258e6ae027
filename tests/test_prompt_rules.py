"""Rules a prompt states are tested (issue 16): `batch-norm-training-forward` says "do not modify
the input arrays", so a solution that updates them in place fails, in the real sandbox."""
from __future__ import annotations

import graders
from interview import bank

IN_PLACE = """\
import numpy as np

def batchnorm_train(X, gamma, beta, running_mean, running_var, momentum, eps):
    n = X.shape[0]
    mu = X.mean(axis=0)
    var = X.var(axis=0)
    y = gamma * (X - mu) / np.sqrt(var + eps) + beta
    running_mean *= (1 - momentum)
    running_mean += momentum * mu
    running_var *= (1 - momentum)
    running_var += momentum * var * n / (n - 1)
    return y, running_mean, running_var
"""
CENTRES_X_IN_PLACE = """\
import numpy as np

def batchnorm_train(X, gamma, beta, running_mean, running_var, momentum, eps):
    n = X.shape[0]
    mu = X.mean(axis=0)
    var = X.var(axis=0)
    X -= mu
    y = gamma * X / np.sqrt(var + eps) + beta
    return y, (1 - momentum) * running_mean + momentum * mu, (1 - momentum) * running_var + momentum * var * n / (n - 1)
"""


def _question():  # type: ignore[no-untyped-def]
    return bank.load_file(next(bank.default_bank_path().rglob("batch-norm-training-forward.yaml"))).question


def test_solutions_that_modify_their_inputs_fail() -> None:
    q = _question()
    v = graders.instantiate(q, 0)
    assert graders.grade(q, v, q.spec.reference).score == 1.0
    for source in (IN_PLACE, CENTRES_X_IN_PLACE):
        g = graders.grade(q, v, source)
        assert g.score <= 0.2, g.feedback  # only a test whose inputs the change leaves equal passes
        assert any("changed its input arguments" in f for f in g.feedback), g.feedback
