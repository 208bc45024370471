"""The PowerShell remoting (PSRP) plugin of an emulated Windows host."""

from __future__ import annotations

import logging

from makaudit.testing.server.base import (
    RESOURCE_POWERSHELL_PREFIX,
    WSManFault,
    WSManRequest,
    WSManResponse,
)

logger = logging.getLogger(__name__)


class PowerShellHandler:
    """Serves the PowerShell plugin resource URIs for every host of a fleet."""

    def __init__(self) -> None:
        pass

    def handles(self, resource_uri: str) -> bool:
        return resource_uri.startswith(RESOURCE_POWERSHELL_PREFIX)

    def handle(self, request: WSManRequest) -> WSManResponse:
        # TODO: the PSRP shell actions are being written; until then every action is rejected.
        raise WSManFault("w:ActionNotSupported", 2150858771, f"The action {request.action} is not supported yet.")
