"""Flask-WTF forms: staff forms, and respondent forms built at runtime from a survey."""
