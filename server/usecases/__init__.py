"""The use cases: what vdist does, in commands and results.

Each module is one use case (catalog, assign, explain, autodistribute, publishing, retry,
cancel, history, stats). A use case takes a frozen command dataclass and the repositories of
one transaction and returns plain results (rows or dataclasses). It knows nothing of gRPC,
protobuf or SQL: `server.api` parses requests into commands and builds responses, and
`persistence.repositories` owns every query.
"""
