"""The API edge: everything that speaks gRPC and protobuf.

Requests are parsed and validated into use-case commands (`parse_*`), each call runs as one
transaction (`transactions`), results become messages (`responses`, `converters`), and errors
become gRPC status with google.rpc details (`status`, applied by `interceptors`).
"""
