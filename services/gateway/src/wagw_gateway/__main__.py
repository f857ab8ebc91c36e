from wagw_common.service import run_service

from .app import create_app
from .settings import DEFAULTS, SERVICE, Settings


def main() -> None:
    run_service(SERVICE, Settings, create_app, **DEFAULTS)


if __name__ == "__main__":
    main()
