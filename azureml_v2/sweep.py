"""Hyperparameter sweeps: the classes a notebook needs, named as in `azure.ai.ml.sweep`.

    from azureml_v2 import command
    from azureml_v2.sweep import BanditPolicy, Choice, Uniform

    job = command(command="python train.py --lr ${{inputs.lr}} --batch ${{inputs.batch}}", ...,
                  inputs={"lr": 0.01, "batch": 32})
    sweep = job(lr=Uniform(0.001, 0.1), batch=Choice([16, 32, 64])).sweep(
        primary_metric="loss", goal="minimize", max_total_trials=20,
        early_termination_policy=BanditPolicy(slack_factor=0.1, evaluation_interval=1))
"""
from __future__ import annotations

from .entities.job import SweepJob
from .entities.sweep import (BanditPolicy, BayesianSamplingAlgorithm, Choice, GridSamplingAlgorithm, LogNormal,
                             LogUniform, MedianStoppingPolicy, Normal, Objective, QLogNormal, QLogUniform, QNormal,
                             QUniform, Randint, RandomSamplingAlgorithm, SamplingAlgorithm, SweepJobLimits,
                             TruncationSelectionPolicy, Uniform)

__all__ = [
    "Choice", "Randint", "Uniform", "LogUniform", "Normal", "LogNormal", "QUniform", "QLogUniform", "QNormal",
    "QLogNormal",
    "SamplingAlgorithm", "RandomSamplingAlgorithm", "GridSamplingAlgorithm", "BayesianSamplingAlgorithm",
    "BanditPolicy", "MedianStoppingPolicy", "TruncationSelectionPolicy",
    "Objective", "SweepJobLimits", "SweepJob",
]
