"""The demo hub: runs, notebooks, a deployed model and its monitor (``labcycle demo seed``)."""
