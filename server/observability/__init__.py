"""Observability: Prometheus metrics, structured logs and OpenTelemetry traces.

Standalone parts that the composition root (server/app.py) wires in:

- `metrics.ServerMetrics`: the gRPC server interceptor with the standard
  `grpc_server_*` series, the database retry counter, the `vdist_*` domain collector
  (figures computed in SQL) and the `/metrics` HTTP endpoint;
- `logs.configure_logging`: text or JSON lines on standard error, with credentials masked;
- `tracing.configure_tracing`: OpenTelemetry spans (off by default and free when off).
"""
