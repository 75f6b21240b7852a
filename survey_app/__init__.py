"""The survey application: `create_app` builds it from configuration."""

from __future__ import annotations

from flask import Flask

from survey_app.config import INSTANCE_PATH, PROJECT_ROOT, VERSION, Config

__version__ = VERSION


def create_app(config: Config | None = None, command_line: bool = False) -> Flask:
    """The Flask application for `config` (the environment's settings when None).

    Refuses to start (ConfigError) without a SECRET_KEY, unless in development or testing, or
    for the command line, which signs no cookies.
    """
    config = config or Config()
    if not (config.TESTING or config.DEVELOPMENT or command_line):
        config.check()
    templates = str(PROJECT_ROOT / "templates")
    app = Flask(__name__, instance_path=str(INSTANCE_PATH), template_folder=templates)
    app.config.from_mapping(config.as_mapping())
    if app.config["SECRET_KEY"] is None:
        # Development or the command line only (check() refused a server above).
        import secrets

        app.config["SECRET_KEY"] = secrets.token_hex(32)

    from survey_app import auth, cli, db, errors, security, templating
    from survey_app.admin import bp as admin_bp
    from survey_app.respond import bp as respond_bp
    from survey_app.staff import bp as staff_bp

    # Templating first: the Jinja environment is built on first use, with the options it sets.
    templating.init_app(app)
    db.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(respond_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_bp)
    cli.init_app(app)
    return app
