"""The survey application: `create_app` builds it from configuration."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from jinja2 import ChainableUndefined, ChoiceLoader, FileSystemLoader, PackageLoader
from werkzeug.exceptions import RequestEntityTooLarge

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
    if app.config["TRUSTED_PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind a load balancer every request comes from the balancer's address: without
        # this, one rate-limit count would be shared by every respondent.
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    if app.config["SECRET_KEY"] is None:
        # Development or the command line only (check() refused a server above).
        import secrets

        app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.jinja_options = {
        "undefined": ChainableUndefined,
        "loader": ChoiceLoader(
            [FileSystemLoader(templates), PackageLoader("nhsuk_frontend_jinja")]
        ),
        # Flask escapes only templates named *.html; NHS.UK's macros are *.jinja, and every
        # label, hint and option they render would otherwise go out as raw HTML.
        "autoescape": True,
    }

    from survey_app import auth, cli, db, security, templating
    from survey_app.admin import bp as admin_bp
    from survey_app.respond import bp as respond_bp
    from survey_app.staff import bp as staff_bp

    db.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    templating.init_app(app)
    app.register_blueprint(respond_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(admin_bp)
    cli.init_app(app)
    app.register_error_handler(RequestEntityTooLarge, _request_too_large)
    app.jinja_env.globals["app_version"] = __version__
    return app


def _request_too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    """A request over MAX_CONTENT_LENGTH: Werkzeug refuses it before anything reads it, so
    nothing is stored; the page says what the limit is and what to do."""
    return render_template(
        "errors/413.html", limit_kb=current_app.config["MAX_CONTENT_LENGTH"] // 1024
    ), 413
