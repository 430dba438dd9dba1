"""What the operator sees of a running provider: Prometheus metrics
(:mod:`idp.observability.metrics`), structured logs bound to a request id
(:mod:`idp.observability.logs`) and OpenTelemetry traces (:mod:`idp.observability.traces`).

The bottom layer: it imports nothing else of ``idp``, so every layer may import it (the request
id of the current request, say, for an outbound call's ``X-Request-ID``). See
docs/operations.md, "Metrics", "Logs" and "Traces".
"""
