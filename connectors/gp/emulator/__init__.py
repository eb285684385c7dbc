"""A local Dynamics GP SBA emulator: real HTTP, real NTLM, GP's rules on Work documents.

`GpEmulator` holds one emulator's state (seeded from `seed/`), its Windows authenticator and
its fault plan; `app` is the ASGI app (wrapped in `FaultInjector`). `build_app()` is what
`mlc emulate` mounts under `/gp`; the API starts at `/GPService/Tenants(DefaultTenant)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from connectors.common import FaultInjector, FaultPlan
from connectors.gp.emulator.app import create_app as _create_app
from connectors.gp.emulator.company import GpFault
from connectors.gp.emulator.state import SEED_COMPANY, GpState, WindowsUser
from connectors.gp.emulator.state import utc_now as _utc_now
from connectors.gp.emulator.windows_auth import WindowsAuthenticator

__all__ = ["GpEmulator", "GpFault", "GpState", "WindowsAuthenticator", "WindowsUser", "build_app"]


class GpEmulator:
    """One GP emulator: `state`, `auth` (Windows authentication), `faults`, and the ASGI `app`.

    `ntlm` and `basic` enable the two authentication kinds; `idle_seconds` is how long an
    NTLM-authenticated connection stays known without requests (keep it short in tests);
    `clock` stamps `ModifiedDate` (naive UTC).
    """

    def __init__(
        self,
        *,
        ntlm: bool = True,
        basic: bool = True,
        idle_seconds: float = 60.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.state = GpState(clock)
        self.auth = WindowsAuthenticator(self.state.users, ntlm=ntlm, basic=basic, idle_seconds=idle_seconds)
        self.faults = FaultPlan()
        self.app = FaultInjector(_create_app(self), self.faults)

    def reset(self) -> None:
        """Back to the seed; NTLM logins are kept (they belong to connections, not data)."""
        self.state.reset()

    def close_period(self, period_id: str, company: str = SEED_COMPANY) -> None:
        """Close a fiscal period (`2024-03`) for Purchasing."""
        self.state.set_period_closed(self.state.find_company(company), period_id, True)

    def reopen_period(self, period_id: str, company: str = SEED_COMPANY) -> None:
        """Reopen a fiscal period."""
        self.state.set_period_closed(self.state.find_company(company), period_id, False)

    def put(self, entity: str, record: dict[str, Any], company: str = SEED_COMPANY) -> dict[str, Any]:
        """Add or replace a record as given (ModifiedDate stamped)."""
        return self.state.put(self.state.find_company(company), entity, record)

    def modify(self, entity: str, key: str, changes: dict[str, Any], company: str = SEED_COMPANY) -> dict[str, Any]:
        """Change fields of a record without GP's rules (ModifiedDate stamped)."""
        return self.state.modify(self.state.find_company(company), entity, key, changes)

    def add_company(self, company_id: str, name: str, *, grant: bool = True) -> None:
        """An empty company (with the fiscal calendar), e.g. one whose name needs URL encoding.

        With `grant`, every account mapped to a GP user gets access to it.
        """
        self.state.add_company(company_id, name)
        if grant:
            self.auth.users = {
                key: replace(user, companies=(*user.companies, company_id)) if user.gp_user else user
                for key, user in self.auth.users.items()
            }

    def record(self, entity: str, key: str, company: str = SEED_COMPANY) -> dict[str, Any]:
        """A stored record as the API would return it."""
        return self.state.get(self.state.find_company(company), entity, key)


def build_app() -> Any:
    """A fresh, seeded emulator app (NTLM and Basic enabled) for `mlc emulate`."""
    return GpEmulator().app
