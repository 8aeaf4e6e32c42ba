"""Capacity planning: the Kubernetes HPA algorithm, fed with measured CPU per request.

- :mod:`~platformctl.capacity.hpa`: the HPA controller's replica decision, as code.
- :mod:`~platformctl.capacity.chart`: each color's HPA, replicas and CPU request from the chart.
- :mod:`~platformctl.capacity.model`: replicas per service color at a request rate.
- :mod:`~platformctl.capacity.report`: ``platformctl capacity`` (register ``report.capacity``).

The measurement behind ``profiles.json`` is ``bench/cpu_per_request.py``; docs/autoscaling.md
explains the method and the results.
"""
