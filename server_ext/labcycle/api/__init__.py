"""The Python API (``import labcycle as lc``): tracking, models, jobs, sweeps, serving, monitors, the hub and lineage, over the transport of :mod:`labcycle.client`."""
