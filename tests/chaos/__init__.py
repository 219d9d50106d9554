"""`make chaos`: three replicas on a private PostgreSQL cluster under load and faults.

Not a pytest suite (no module here is named test_*): run it with `python -m tests.chaos.run`.
"""
