"""The analysis engine: plain Python over DuckDB that knows nothing of Django.

Import and storage of datasets (importer, importing/, storage), the definition
compiler (definitions, compiler, peruser_columns, peruser), statistics (stats), the
analyses themselves (analysis, breakdowns, comparisons, trends, discovery) and the
read-only SQL console. duck.py is the only module that imports duckdb. The app layer
(analytics.models, services, tasks) passes paths and settings in; nothing here reads
Django settings or the app database. An import-linter contract keeps it that way.
"""
