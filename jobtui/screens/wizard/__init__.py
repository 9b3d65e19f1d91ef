"""The job wizard: screen.py (the screen), a module per step, and collect.py, the pure
function from what the forms hold to the job spec (importable without Textual).

Nothing is imported here, so that importing collect.py does not load the screen.
"""
