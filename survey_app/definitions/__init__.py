"""Survey definition files (YAML) and the loader that validates them."""

from survey_app.definitions.loader import (
    QUALITY_FRAMEWORK_DOMAINS,
    DefinitionError,
    SurveyDefinition,
    load_definition,
    shipped_definition_paths,
)

__all__ = [
    "QUALITY_FRAMEWORK_DOMAINS",
    "DefinitionError",
    "SurveyDefinition",
    "load_definition",
    "shipped_definition_paths",
]
