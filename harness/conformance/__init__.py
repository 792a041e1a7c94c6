"""`harness conform`: the store contract as named rules, checked on real processes and files.

`rules.py` holds the rules (what each checks and how it is judged), `subject.py` the store under
test in a scratch folder (fresh stores, driver processes, the writer runs two rules share),
`drivers.py` the parent's side of the driver protocol, and `conform.py` the records and the one
entry point, `conform_store(config)`. The drivers themselves are `worker/conform_driver.py` and
`stores/node/conform_driver.mjs`.
"""
