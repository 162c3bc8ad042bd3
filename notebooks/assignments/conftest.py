"""The assignment notebooks are not re-executed by nbval.

The instructor notebook holds otter-grader's assignment format (solutions and test cells
between ``# BEGIN``/``# END`` markers) and is handed out unexecuted; generated student
notebooks contain ``...`` placeholders that cannot run. Both are checked by their own tests
instead: ``tests/test_assignment.py`` generates them with ``otter assign`` and grades the
solution, the untouched template and faulty submissions.
"""

collect_ignore_glob = ["*.ipynb"]
