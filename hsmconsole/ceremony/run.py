"""Carries out a confirmed ceremony on the device, step by step, and says what was done if it stops."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from hsmconsole.ceremony.plan import Ceremony, DeviceIdentity, Phase
from hsmconsole.custody.shares import SecretKind
from hsmconsole.device.client import Credentials, DeviceClient
from hsmconsole.device.profiles import Profile
from hsmconsole.device.tls import (
    MISMATCH_HINT,
    CertificateMismatch,
    fetch_certificate,
    fingerprint_of,
    normalize_fingerprint,
)
from hsmconsole.errors import ConnectionFailed, HsmConsoleError, InputError, StateError
from hsmconsole.journal.chain import Journal, JournalEvent, Outcome
from hsmconsole.models import DeviceState, DeviceStatus

Probe = Callable[[str], str]  # host -> SHA-256 fingerprint of the certificate it presents now


def presented_fingerprint(host: str) -> str:
    """The certificate the device presents right now, fetched without trusting it."""
    return fingerprint_of(fetch_certificate(host))


@dataclass(frozen=True)
class StepResult:
    id: str
    label: str
    done: bool


class ProvisioningStopped(HsmConsoleError):
    """Provisioning began but did not finish: `done` and `remaining` say exactly where it stopped."""

    def __init__(self, cause: HsmConsoleError, done: tuple[str, ...], remaining: tuple[str, ...]) -> None:
        did = "; ".join(done) if done else "nothing"
        todo = "; ".join(remaining) if remaining else "nothing"
        super().__init__(
            f"Provisioning stopped: {cause.title}",
            f"Done: {did}. Still to do: {todo}. {cause.hint}".strip(),
            kind=cause.kind,
        )
        self.cause = cause
        self.done = done
        self.remaining = remaining


def tls_problems(profile: Profile) -> list[str]:
    """Why a ceremony must not run over this connection; empty when it may. Worded for the review."""
    if profile.pinned:
        return []
    if profile.insecure:
        why = f"Profile '{profile.name}' does not verify the device's TLS certificate (insecure)"
    else:
        why = f"Profile '{profile.name}' has no pinned TLS certificate"
    return [
        f"{why}: the unlock and admin passphrases would go to whoever answers. Abort (Esc), "
        "add the device again without 'Insecure', compare its fingerprint with the device's "
        "own console and pin it, then start the ceremony on that profile."
    ]


def plan_steps(ceremony: Ceremony) -> list[tuple[str, str]]:
    """(id, label) of every device step, in order; the UI shows them as a checklist."""
    steps = [
        ("provision", "Provision: set the unlock and admin passphrases and the clock"),
        ("pin-tls", "Pin TLS: check the device still presents the pinned certificate"),
        ("backup-passphrase", "Set the backup passphrase"),
    ]
    for user in ceremony.plan.users:
        steps.append((f"user:{user.user_id}", f"Create user {user.user_id} ({user.role.value})"))
    steps.append(("verify", "Check the device is Operational and read its identity"))
    return steps


def identity_of(status: DeviceStatus) -> DeviceIdentity:
    system = status.system
    # An empty id (not read, or a device that does not report one) stays empty: the report then
    # says so rather than inventing one.
    device_id = system.device_id if system else ""
    return DeviceIdentity(
        device_id=device_id,
        vendor=status.vendor,
        product=status.product,
        software_version=system.software_version if system else "",
        hardware_version=system.hardware_version if system else "",
        firmware_version=system.firmware_version if system else "",
    )


def run_provisioning(
    ceremony: Ceremony,
    client: DeviceClient,
    *,
    journal: Journal | None = None,
    device_id: str = "",
    progress: Callable[[int, int, str], None] = lambda done, total, label: None,
    probe: Probe = presented_fingerprint,
) -> list[StepResult]:
    """Provision the device with the ceremony's secrets. Runs in a worker thread (blocking).

    Before the first step the connection must be pinned, every custodian must have confirmed and
    the device must be Unprovisioned: a refusal here leaves the device untouched, and so does an
    abort while the state is being checked (see Ceremony.begin_provisioning). `progress(0, ...)`
    is called just before the first request that changes the device. Afterwards the ceremony's
    secrets are wiped, whatever happened.
    """
    if ceremony.phase is not Phase.READY:
        raise StateError(
            "Not every custodian has confirmed their shares yet.",
            "Nothing was sent to the device. Finish the custodians' turns first.",
        )
    problems = tls_problems(client.profile)
    if problems:
        raise StateError("The connection's TLS certificate is not pinned.", problems[0])
    state = client.state()
    if state is not DeviceState.UNPROVISIONED:
        raise StateError(
            f"The device is {state.value}, not Unprovisioned.",
            "Nothing was sent to the device. Provisioning needs a new or factory-reset NetHSM.",
        )
    ceremony.begin_provisioning()  # refuses if the ceremony was aborted while state() ran
    steps = plan_steps(ceremony)
    done: list[str] = []
    admin = Credentials("admin", ceremony.secrets[SecretKind.ADMIN])

    def record(action: str, outcome: Outcome, detail: str = "") -> None:
        if journal is not None:
            journal.append(
                JournalEvent(
                    actor="ceremony", action=action, outcome=outcome, device_id=device_id,
                    set_ids=ceremony.set_ids, detail=detail[:300],
                )
            )

    try:
        for i, (step_id, label) in enumerate(steps):
            progress(i, len(steps), label)
            detail = label
            if step_id == "provision":
                client.provision(ceremony.secrets[SecretKind.UNLOCK], ceremony.secrets[SecretKind.ADMIN])
            elif step_id == "pin-tls":
                pinned = client.profile.fingerprint or ""
                try:
                    presented = normalize_fingerprint(probe(client.profile.host))
                except InputError:
                    raise ConnectionFailed(
                        "the device's TLS certificate could not be read after provisioning",
                        "Nothing more was sent. Check the connection, then compare the certificate "
                        "on the device's own console with the pinned fingerprint.",
                    ) from None
                if not hmac.compare_digest(presented, pinned):
                    ceremony.mismatched_certificate = presented
                    raise CertificateMismatch(
                        "the device now presents a TLS certificate that is NOT the pinned one",
                        "Send nothing more over this connection. " + MISMATCH_HINT,
                        pinned=pinned, presented=presented,
                    )
                ceremony.certificate = presented
                detail = f"certificate after provisioning is the pinned one, SHA-256 {presented}"
            elif step_id == "backup-passphrase":
                client.set_backup_passphrase(admin, ceremony.secrets[SecretKind.BACKUP])
            elif step_id.startswith("user:"):
                user = next(u for u in ceremony.plan.users if f"user:{u.user_id}" == step_id)
                client.add_user(
                    admin, user.user_id, user.real_name, user.role, ceremony.user_secrets[user.user_id]
                )
            elif step_id == "verify":
                status = client.status(admin)
                if status.state is not DeviceState.OPERATIONAL:
                    raise StateError(f"The device ended {status.state.value}, not Operational.")
                ceremony.identity = identity_of(status)
                shown = ceremony.identity.device_id or "not available"
                detail = f"Operational; device id {shown}; {ceremony.identity.describe()}"
            done.append(label)
            record(f"ceremony.step.{step_id.split(':')[0]}", Outcome.OK, detail)
        progress(len(steps), len(steps), "Done")
        ceremony.phase = Phase.DONE
        record("ceremony.provisioned", Outcome.OK)
    except HsmConsoleError as exc:
        ceremony.phase = Phase.FAILED
        remaining = tuple(label for _, label in steps[len(done):])
        if isinstance(exc, CertificateMismatch):
            step = steps[len(done)][0].split(":")[0] if len(done) < len(steps) else "pin-tls"
            record(
                f"ceremony.step.{step}", Outcome.FAILED,
                f"the device presented a certificate that is NOT the pinned one: "
                f"{exc.presented or 'unknown'}",
            )
        record("ceremony.provisioned", Outcome.FAILED, exc.title[:200])
        raise ProvisioningStopped(exc, tuple(done), remaining) from None
    finally:
        if ceremony.phase is Phase.PROVISIONING:
            ceremony.phase = Phase.FAILED  # an unexpected error: never leave it looking alive
        ceremony.wipe()
    return [StepResult(step_id, label, True) for step_id, label in steps]
