from wagw_common.service import run_service

from . import SERVICE
from .app import create_app
from .settings import Settings

if __name__ == "__main__":
    run_service(SERVICE, Settings, create_app, HTTP_PORT="8081", MONGODB_DATABASE="wagw_session_orchestrator")
