"""Carries out a confirmed ceremony on the device, step by step, and says what was done if it stops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hsmconsole.ceremony import Ceremony, Phase
from hsmconsole.client import Credentials, DeviceClient
from hsmconsole.errors import HsmConsoleError, StateError
from hsmconsole.journal import Journal, JournalEvent, Outcome
from hsmconsole.models import DeviceState
from hsmconsole.shares import SecretKind


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


def plan_steps(ceremony: Ceremony) -> list[tuple[str, str]]:
    """(id, label) of every device step, in order; the UI shows them as a checklist."""
    steps = [
        ("provision", "Provision: set the unlock and admin passphrases and the clock"),
        ("backup-passphrase", "Set the backup passphrase"),
    ]
    for user in ceremony.plan.users:
        steps.append((f"user:{user.user_id}", f"Create user {user.user_id} ({user.role.value})"))
    steps.append(("verify", "Check the device is Operational"))
    return steps


def run_provisioning(
    ceremony: Ceremony,
    client: DeviceClient,
    *,
    journal: Journal | None = None,
    device_id: str = "",
    progress: Callable[[int, int, str], None] = lambda done, total, label: None,
) -> list[StepResult]:
    """Provision the device with the ceremony's secrets. Runs in a worker thread (blocking).

    Before the first step the device must be Unprovisioned and every custodian must have
    confirmed: a refusal here leaves the device untouched. Afterwards the ceremony's secrets are
    wiped, whatever happened.
    """
    if ceremony.phase is not Phase.READY:
        raise StateError(
            "Not every custodian has confirmed their shares yet.",
            "Nothing was sent to the device. Finish the custodians' turns first.",
        )
    state = client.state()
    if state is not DeviceState.UNPROVISIONED:
        raise StateError(
            f"The device is {state.value}, not Unprovisioned.",
            "Nothing was sent to the device. Provisioning needs a new or factory-reset NetHSM.",
        )
    steps = plan_steps(ceremony)
    done: list[str] = []
    ceremony.phase = Phase.PROVISIONING
    admin = Credentials("admin", ceremony.secrets[SecretKind.ADMIN])

    def record(action: str, outcome: Outcome, detail: str = "") -> None:
        if journal is not None:
            journal.append(
                JournalEvent(
                    actor="ceremony", action=action, outcome=outcome, device_id=device_id,
                    set_ids=ceremony.set_ids, detail=detail,
                )
            )

    try:
        for i, (step_id, label) in enumerate(steps):
            progress(i, len(steps), label)
            if step_id == "provision":
                client.provision(ceremony.secrets[SecretKind.UNLOCK], ceremony.secrets[SecretKind.ADMIN])
            elif step_id == "backup-passphrase":
                client.set_backup_passphrase(admin, ceremony.secrets[SecretKind.BACKUP])
            elif step_id.startswith("user:"):
                user = next(u for u in ceremony.plan.users if f"user:{u.user_id}" == step_id)
                client.add_user(
                    admin, user.user_id, user.real_name, user.role, ceremony.user_secrets[user.user_id]
                )
            elif step_id == "verify":
                final = client.state()
                if final is not DeviceState.OPERATIONAL:
                    raise StateError(f"The device ended {final.value}, not Operational.")
            done.append(label)
            record(f"ceremony.step.{step_id.split(':')[0]}", Outcome.OK, label)
        progress(len(steps), len(steps), "Done")
        ceremony.phase = Phase.DONE
        record("ceremony.provisioned", Outcome.OK)
    except HsmConsoleError as exc:
        ceremony.phase = Phase.FAILED
        remaining = tuple(label for _, label in steps[len(done):])
        record("ceremony.provisioned", Outcome.FAILED, exc.title[:200])
        raise ProvisioningStopped(exc, tuple(done), remaining) from None
    finally:
        ceremony.wipe()
    return [StepResult(step_id, label, True) for step_id, label in steps]
