"""The measured side: the worker process and what it imports. Standard library only.

`python -m session_store_harness.worker` runs the cycle worker (`cycles.py`); the runner starts it
in isolated mode so that the user's folder and `PYTHONPATH` cannot shadow these modules. Anything
imported here lands in every worker's figures, so this file imports nothing.
"""
