"""The API suite's fixtures (a Jupyter server with LabCycle per test, ``api``, ``make_run``)."""

from api.conftest import *  # noqa: F403
