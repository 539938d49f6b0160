"""The printable ceremony report (Markdown): who holds which share of which set; never a secret."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hsmconsole.ceremony.plan import Ceremony, Phase
from hsmconsole.fileio import write_private


def _ts(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _certificate_line(ceremony: Ceremony, pinned: str) -> str:
    if ceremony.certificate:
        return f"{pinned} (pinned; the device presented it again after provisioning)"
    if ceremony.mismatched_certificate:
        return (
            f"{pinned} (pinned), but after provisioning the device presented "
            f"{ceremony.mismatched_certificate}: NOT the pinned one"
        )
    return f"{pinned} (pinned; not re-checked after provisioning, see the journal)"


def render_report(
    ceremony: Ceremony, *, device_host: str, device_fingerprint: str, profile_name: str = ""
) -> str:
    """`device_fingerprint` is the profile's pinned certificate; the device's own identity and the
    certificate it presented after provisioning come from the ceremony (see run_provisioning)."""
    plan = ceremony.plan
    identity = ceremony.identity
    profile = f", profile {profile_name}" if profile_name else ""
    if identity is None:
        device_id = "not read (provisioning did not get that far)"
        made = ""
    else:
        device_id = identity.device_id or "not available (the console could not read it)"
        made = f"; {identity.describe()}"
    outcome = {
        Phase.DONE: "Completed: the device is provisioned and Operational.",
        Phase.FAILED: "FAILED during provisioning: see the journal for the steps that were done.",
        Phase.ABORTED: "Aborted: no secret was sent to the device unless the journal says so.",
    }.get(ceremony.phase, f"In progress ({ceremony.phase.value}).")
    lines = [
        "# NetHSM provisioning ceremony report",
        "",
        "This report holds no secret and no share. Keep it with the ceremony journal.",
        "",
        f"- Device: {plan.device_label or 'no label given'} at {device_host}{profile}{made}",
        f"- Device id: {device_id}",
        f"- TLS certificate SHA-256: {_certificate_line(ceremony, device_fingerprint)}",
        f"- Started: {_ts(ceremony.started_at)}",
        f"- Finished: {_ts(ceremony.finished_at)}",
        f"- Outcome: {outcome}",
        "",
        "## Policy",
        "",
        "| secret | threshold | holders |",
        "|---|---|---|",
    ]
    for p in plan.policies:
        lines.append(f"| {p.kind.value} passphrase | {p.threshold} of {p.count} | {', '.join(p.holders)} |")
    if plan.risks():
        lines += ["", "## Warnings", ""]
        lines += [f"- {risk}" for risk in plan.risks()]
        accepted = (
            "Acknowledged explicitly at the review by the people present."
            if plan.risks_accepted else "NOT acknowledged at the review."
        )
        lines += ["", accepted]
    lines += [
        "",
        "## Shares issued",
        "",
        "| custodian | secret | set id | generation | share | fingerprint | sealed to |",
        "|---|---|---|---|---|---|---|",
    ]
    sealed = {t.custodian: t.sealed_to for t in ceremony.turns}
    for name, kind, set_id, gen, index, _threshold, fp in ceremony.issued:
        count = plan.policy(kind).count
        lines.append(
            f"| {name} | {kind.value} | {set_id} | {gen} | {index} of {count} | {fp} | "
            f"{sealed.get(name) or '-'} |"
        )
    if plan.users:
        lines += ["", "## Users created", "", "| user | role | passphrase given to |", "|---|---|---|"]
        for u in plan.users:
            lines.append(f"| {u.user_id} | {u.role.value} | {u.holder} |")
    lines += ["", "## Signatures", ""]
    for name in plan.custodians:
        lines.append(f"Custodian {name}: ______________________________  date: ____________")
        lines.append("")
    for name in plan.witnesses:
        lines.append(f"Witness {name}: ______________________________  date: ____________")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_report(path: Path, text: str) -> Path:
    return write_private(path, text.encode("utf-8"))
