"""Batch contender, the Python reference: convert many small JSONL logs in ONE Python process,
each into its own NWB file with ezmsg-nwb 1.13's JSON-row consumer (as contender_ref.py does for
one log: flatten_for_table -> NWBSinkConsumer.write_annotation, then close()).

    python bench/batch_ref.py <out_dir> <log> [<log> ...]

Prints one JSON line: files, events, and wall-clock marks in ms since the epoch: tProcess
(interpreter up), tReady (ezmsg-nwb imported), tClosed (last file closed).
"""

import json
import os
import resource
import sys
import time

t_process = time.time()
out_dir, logs = sys.argv[1], sys.argv[2:]

from ezmsg.baseproc import PipelineSettingsEvent, PipelineSettingsEventType  # noqa: E402
from ezmsg.nwb.writer import NWBSinkConsumer, NWBSinkSettings  # noqa: E402

t_ready = time.time()
events = 0
for log in logs:
    out = os.path.join(out_dir, os.path.splitext(os.path.basename(log))[0] + ".nwb")
    consumer = NWBSinkConsumer(settings=NWBSinkSettings(filepath=out, overwrite_old=True))
    with open(log, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            ev = PipelineSettingsEvent(
                seq=d["seq"],
                timestamp=d["timestamp"],
                component_address=d["component_address"],
                event_type=PipelineSettingsEventType(d["event_type"]),
                repr_value=d["repr_value"],
                structured_value=d["structured_value"],
                source_session_id=d["source_session_id"],
                table_name=d["table_name"],
            )
            row = ev.flatten_for_table()
            if row is not None:
                consumer.write_annotation(ev.table_name, float(ev.timestamp), row["data"])
            events += 1
    consumer.close()
t_closed = time.time()
print(
    json.dumps(
        {
            "files": len(logs),
            "events": events,
            "tProcess": t_process * 1000,
            "tReady": t_ready * 1000,
            "tClosed": t_closed * 1000,
            "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
    ),
    flush=True,
)
