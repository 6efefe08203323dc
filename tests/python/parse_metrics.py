"""Parses cohort's /metrics with the Prometheus client's own parser and prints each
sample as JSON: [name, labels, value].

    python3 tests/python/parse_metrics.py < metrics.txt
"""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps(samples))
