"""LabCycle: the whole data science lifecycle inside Jupyter."""
from ._version import __version__
