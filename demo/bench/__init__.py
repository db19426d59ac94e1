"""The benchmark (`make bench SCALE=100k|300k|1M`, `python -m demo.bench --scale …`): generate,
start the emulators, run the daily job four times (full, after ~1 % of person records changed,
once more to take in the echo of that run's own syncs from the e-mail platforms' lists, and with
nothing changed), time each stage with its CPU and memory, measure the same identity and RFM
work as plain DuckDB SQL (the floor) and as plain pandas, and write `docs/benchmarks/<scale>.json`
and `docs/benchmarks.md` with the targets (demo/bench/report.py). Why in the same run: the machine
is shared, so only figures taken side by side can be compared.

The emulators' rate limits are lifted (the real services' throttles would dominate and are not
ours to speed up; the connectors' handling of 429 is covered by tests).
"""
