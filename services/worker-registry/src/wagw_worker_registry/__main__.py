from wagw_common.service import run_service

from .app import SERVICE, create_app
from .settings import Settings


def main() -> None:
    run_service(SERVICE, Settings, create_app, HTTP_PORT="8082", MONGODB_DATABASE="wagw_worker_registry")


if __name__ == "__main__":
    main()
