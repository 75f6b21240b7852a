"""WTForms' `SelectChoice`, the one place it is imported.

types-WTForms 3.2 predates `SelectChoice` (added in WTForms 3.3, which this project runs), so
mypy finds no such name and takes it as Any; its stubs also still type a field's ``choices``
as tuples, which a `SelectChoice` is not. Importing it here keeps that to one ignore.
"""

from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

__all__ = ["SelectChoice"]
