from wagw_common.service import run_service

from .app import create_app
from .settings import Settings


def main() -> None:
    run_service("gateway", Settings, create_app, HTTP_PORT="8080", MONGODB_DATABASE="wagw_gateway")


if __name__ == "__main__":
    main()
