"""Loads the tables of `cohort export` with pandas, as a researcher would, and prints
what the test compares with the event log: row counts, and a few joins.

    python3 tests/python/load_export.py EXPORT_DIR
"""

import json
import sys

import pandas as pd

d = sys.argv[1]
tables = {name: pd.read_csv(f"{d}/{name}.csv") for name in
          ["participants", "answers", "matches", "probes", "games", "game_inputs", "events"]}
participants = tables["participants"]
answers = tables["answers"]
# Answers join participants by id; every answer has its participant.
joined = answers.merge(participants, on="participant", how="left", suffixes=("", "_p"))
out = {name: int(len(t)) for name, t in tables.items()}
out["answers_without_participant"] = int(joined["recruitment_id_p"].isna().sum()) if len(joined) else 0
out["outcomes"] = participants["outcome"].value_counts().to_dict()
out["finished_codes"] = sorted(participants.loc[participants.outcome == "finished", "completion_code"].dropna().unique().tolist())
out["game_ends"] = tables["games"]["end_reason"].value_counts().to_dict()
out["event_kinds"] = int(tables["events"]["event"].nunique())
out["recruitment_ids"] = sorted(participants["recruitment_id"].astype(str).tolist())
print(json.dumps(out))
