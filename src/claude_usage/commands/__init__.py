"""The faces: one module per command, one row each in cli.py's table.

Each module has `DESCRIPTION`, `configure(parser)` (its options) and `run(args, env) -> int`; it raises our
errors and leaves exit codes and tracebacks to cli.py's one handler. Nothing heavy at module level: a face
is imported only when its row is chosen.
"""
