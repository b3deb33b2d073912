"""What a run records about where it ran (Python, packages, git) and the local code it
imported: read by the Python API at run start and end, and by jobs and model logging."""
