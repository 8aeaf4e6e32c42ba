"""Metric analysis for promotions, shared by every backend (local processes, Kubernetes).

The vocabulary is Argo Rollouts' AnalysisTemplate: measurements every ``interval``, ``count``
of them, the run fails once more than ``failureLimit`` measurements failed, and a measurement
without data is inconclusive.
"""
