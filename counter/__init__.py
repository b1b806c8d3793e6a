"""calfcount's counting core: pure signal processing (numpy and the standard library only).

One causal pipeline fed one IMU sample at a time:

    trace file or sensor -> Sample -> CalfCounter.update() -> RepEvent / SetEndEvent

Nothing here touches hardware, the network or the wall clock: time comes from the samples.
"""
from counter.sample import Sample
from counter.events import RepEvent, SetEndEvent, Event
from counter.config import CounterConfig
from counter.pipeline import CalfCounter

__all__ = ["Sample", "RepEvent", "SetEndEvent", "Event", "CounterConfig", "CalfCounter"]
