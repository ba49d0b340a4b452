"""Write, with pynwb, a file that holds our settings objects the way a user's own recording would
after `attach`: JSON settings rows in an AnnotationSeries inside a processing module, a typed
settings table with an updated_component column, a TimeSeries of data in /acquisition, and a
reference time with a UTC offset and microseconds. Used by settings-pynwb.test.ts."""
import sys
from datetime import datetime, timedelta, timezone

import numpy as np
from pynwb import NWBHDF5IO, NWBFile, TimeSeries
from pynwb.epoch import TimeIntervals
from pynwb.misc import AnnotationSeries

path = sys.argv[1]
tz = timezone(timedelta(hours=-7))
nwb = NWBFile(
    session_description="user's recording",
    identifier="user-rec",
    session_start_time=datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=tz),
)
rows = [
    (1.0, '{"component": "SYS/FILTER", "event_type": "INITIAL", "seq": 0, "settings": {"cutoff": 30.0, "kind": "butter"}}'),
    (2.5, '{"component": "SYS/FILTER", "event_type": "UPDATED", "seq": 1, "settings": {"cutoff": 45.5, "kind": "butter"}}'),
    (4.0, '{"component": "SYS/FILTER", "event_type": "UPDATED", "seq": 2, "settings": {"cutoff": 45.5, "kind": "cheby"}}'),
]
module = nwb.create_processing_module("settings", "pipeline settings")
module.add(AnnotationSeries(name="pipeline_events", data=[r[1] for r in rows], timestamps=[r[0] for r in rows], description="settings rows"))
module.add(AnnotationSeries(name="notes", data=["not a settings row"], timestamps=[0.5], description="user notes"))
table = TimeIntervals(name="settings_table", description="settings states")
table.add_column("updated_component", "component")
table.add_column("SYS.FILTER.cutoff", 'Setting "cutoff" of component "SYS/FILTER"')
table.add_row(start_time=1.0, stop_time=2.5, updated_component="__init_final__", **{"SYS.FILTER.cutoff": 30.0})
table.add_row(start_time=2.5, stop_time=4.0, updated_component="SYS/FILTER", **{"SYS.FILTER.cutoff": 45.5})
nwb.add_time_intervals(table)
nwb.add_acquisition(TimeSeries(name="signal", data=np.sin(np.arange(5000) / 20.0).astype("float32"), unit="mV", rate=1000.0, starting_time=0.0, description="test"))
with NWBHDF5IO(path, "w") as io:
    io.write(nwb)
print(path)
