"""The REST service (``faceatlas serve``): FastAPI on uvicorn over one library. Handlers
parse requests and call the application layer (:mod:`faceatlas.app`), exactly as the
command line does; this package needs the ``server`` extra."""
