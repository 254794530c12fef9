"""The parts of a dataset import (analytics.engine.importer is the entry point).

SQL here is composed from this package's own constants, the names of temporary tables
it creates, and column names read from the files' own headers, always quoted with
`duck.quote_identifier`; every value (paths, event names, options) is a bound `?`
parameter. Each composed statement is marked `# noqa: S608` for that reason.
"""
