"""The emulated tenant: state, quotas, faults and settings bundled for the request handlers."""

from __future__ import annotations

from emulator.callout_registry import CalloutRegistry
from emulator.config import EmulatorConfig
from emulator.constants import DEFAULT_EXTENSIONS_APP_OBJECT_ID
from emulator.faults import FaultInjector
from emulator.identity_platform import IdentityPlatform, TokenSigner
from emulator.signin_sim_arrivals import ArrivalQueue
from emulator.signin_sim_passwords import PasswordBook
from emulator.state import TenantState
from emulator.tenant_setup_state import TenantSetup
from emulator.throttling import Throttle

# graph docs throttling-limits.md: application+tenant pair RU quota by tenant size.
RU_TIERS = ((50, 3500), (500, 5000))
RU_LARGE = 8000


class EmulatedTenant:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.state = TenantState(config.tenant, config.extensions_app_id, DEFAULT_EXTENSIONS_APP_OBJECT_ID)
        self.faults = FaultInjector(config.faults, config.seed)
        quotas = config.quotas
        self.throttle = Throttle(
            app_writes=quotas.app_writes,
            app_write_window=config.scaled(quotas.app_write_window_s),
            tenant_writes=quotas.tenant_writes,
            tenant_write_window=config.scaled(quotas.tenant_write_window_s),
            resource_units=self.resource_unit_quota,
            resource_unit_window=config.scaled(quotas.resource_unit_window_s),
            reporting_requests=quotas.reporting_requests,
            reporting_window=config.scaled(quotas.reporting_window_s),
        )
        self.fractional_retry_after = config.time_scale != 1.0
        self.signer = TokenSigner()
        self.identity = IdentityPlatform(config, self.signer)  # the token endpoint for config.client_apps
        # Entra's side of a sign-in (signin_sim): JIT configuration, password digests, log records in flight.
        self.callouts = CalloutRegistry()
        self.passwords = PasswordBook()
        self.arrivals = ArrivalQueue()
        self.setup = TenantSetup()  # identity providers, user flows, branding, method states (tenant_setup)

    def resource_unit_quota(self) -> int:
        if self.config.quotas.resource_units is not None:
            return self.config.quotas.resource_units
        users = len(self.state.users)
        for below, quota in RU_TIERS:
            if users < below:
                return quota
        return RU_LARGE

    def reset(self) -> None:
        self.state.reset()
        self.throttle.reset()
        self.faults.injected.clear()
        self.callouts.reset()
        self.passwords.clear()
        self.arrivals.clear()
        self.setup.reset()
