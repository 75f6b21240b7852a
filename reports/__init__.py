"""Survey reports: the pure statistics engine, and (beside it) data loading and rendering.

The statistics modules (``likert``, ``themes``, ``comparisons``, ``suppression``, ``free_text``,
``summary``, ``findings``, ``export``) take count tables and sums, never database rows or Flask
objects, so every published number can be checked against an independent computation.
"""
