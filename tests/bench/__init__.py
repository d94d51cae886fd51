"""Benchmarks (not tests): `make bench-api`, `make bench-events`, `make bench-reminders`.

Each runs against a dedicated PostgreSQL database it creates, migrates and drops
(BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/todo_bench). The file names
have no test_ prefix so pytest never collects them.
"""
