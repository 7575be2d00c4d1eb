"""The search box: a Flask app (page + JSON API) over a read-only index. `create_app(test_config=None)`."""
from __future__ import annotations

import os

from flask import Flask

from .config import WebConfig
from .resources import SearcherHolder


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; the index (INDEX_DIR, optional MODEL_DIR) is opened on the first search, not here.

    test_config may set SEARCHER (an object with the index.searcher.Searcher interface) to skip the
    index, and WEB (a WebConfig or a dict of its fields) to change request limits.
    """
    app = Flask(__name__, static_folder=None)  # assets are served from memory (webapp.assets)
    app.config.from_mapping(
        INDEX_DIR=os.environ.get("CODESEARCH_INDEX", "data/index"),
        MODEL_DIR=None,
        SEARCHER=None,
        WEB=WebConfig(),
        DEBUG=False,
        PROPAGATE_EXCEPTIONS=False,   # an unexpected error is a JSON 500, never a traceback
        MAX_CONTENT_LENGTH=16 * 1024,  # nothing here takes a request body
    )
    if test_config:
        app.config.update(test_config)
    if not isinstance(app.config["WEB"], WebConfig):
        app.config["WEB"] = WebConfig.from_mapping(app.config["WEB"])
    app.json.sort_keys = False
    app.extensions["codesearch"] = SearcherHolder(app.config["INDEX_DIR"], app.config["MODEL_DIR"],
                                                  searcher=app.config["SEARCHER"])

    from . import api, assets, errors, functions, pages
    app.register_blueprint(pages.bp)
    app.register_blueprint(functions.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(assets.bp)
    errors.register(app)
    return app
