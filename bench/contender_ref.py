"""Contender: the Python reference, ezmsg-nwb 1.13. One child process per run.

    python bench/contender_ref.py <json|table|both|none> <events.jsonl> <out.nwb>

``none`` only reads the log and builds the events (no consumer, no file): the input's share.

Reads the same JSONL stream line by line, builds ``ezmsg.baseproc.PipelineSettingsEvent``s and
hands them to the consumer exactly as the ezmsg units do:
- JSON rows: ``NWBSink.on_annotation`` → ``flatten_for_table()`` → ``NWBSinkConsumer.write_annotation``
  (rows for the sentinel are skipped, as ``flatten_for_table`` returns None);
- typed columns: ``NWBPipelineSettingsSink.on_annotation`` → ``write_settings_event``;
- both: one ``NWBPipelineSettingsSinkConsumer`` (a ``NWBSinkConsumer``) doing both, one file.
Closed with ``close()`` as ``NWBSink.shutdown`` does. Prints one JSON line like the Node contenders.
"""

import json
import resource
import sys
import time

t_process = time.time()  # close enough: the interpreter is up, nothing imported yet

mode, events_path, out_path = sys.argv[1:4]

from ezmsg.baseproc import PipelineSettingsEvent, PipelineSettingsEventType  # noqa: E402
from ezmsg.nwb.pipeline_settings import (  # noqa: E402
    NWBPipelineSettingsSinkConsumer,
    NWBPipelineSettingsSinkSettings,
)
from ezmsg.nwb.writer import NWBSinkConsumer, NWBSinkSettings  # noqa: E402

t_ready = time.time()

# The run window starts here (consumer construction) and ends after close; sink_s counts only the
# time inside the consumer (construction, flatten_for_table + write_annotation, write_settings_event,
# close), i.e. without reading the log, json.loads and building the event objects.
t_start = time.time()
cpu_start = (lambda r: (r.ru_utime + r.ru_stime) * 1000)(resource.getrusage(resource.RUSAGE_SELF))
if mode == "none":
    consumer = None
elif mode == "json":
    consumer = NWBSinkConsumer(settings=NWBSinkSettings(filepath=out_path, overwrite_old=True))
else:
    consumer = NWBPipelineSettingsSinkConsumer(settings=NWBPipelineSettingsSinkSettings(filepath=out_path, overwrite_old=True))
sink_s = time.time() - t_start  # construction
do_json = mode in ("json", "both")
do_table = mode in ("table", "both")

events = 0
rejected = 0
t_steady = 0.0  # after the startup snapshot (the sentinel) is written
steady_events = 0  # events after the sentinel
with open(events_path, encoding="utf-8") as f:
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
        t = time.perf_counter()
        if t_steady:
            steady_events += 1
        try:
            if do_json:
                row = ev.flatten_for_table()
                if row is not None:
                    consumer.write_annotation(ev.table_name, float(ev.timestamp), row["data"])
            if do_table:
                consumer.write_settings_event(ev)
            events += 1
        except Exception as exc:  # the units log and drop
            rejected += 1
            print(f"{exc}", file=sys.stderr)
        sink_s += time.perf_counter() - t
        if not t_steady and ev.component_address == "__init_final__":
            t_steady = time.time()

t = time.perf_counter()
if consumer is not None:
    consumer.close()
sink_s += time.perf_counter() - t
t_closed = time.time()

print(
    json.dumps(
        {
            "events": events,
            "rejected": rejected,
            "tProcess": t_process * 1000,
            "tReady": t_ready * 1000,
            "tStart": t_start * 1000,
            "tSteady": t_steady * 1000,
            "steadyEvents": steady_events,
            "tClosed": t_closed * 1000,
            "tSinkMs": sink_s * 1000,
            "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "cpuMs": (lambda r: (r.ru_utime + r.ru_stime) * 1000)(resource.getrusage(resource.RUSAGE_SELF)),
            "cpuStartMs": cpu_start,
        }
    ),
    flush=True,
)
