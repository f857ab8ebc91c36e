from wagw_common.service import run_service

from .app import create_app
from .settings import DEFAULTS, SERVICE, Settings

if __name__ == "__main__":
    run_service(SERVICE, Settings, create_app, **DEFAULTS)
