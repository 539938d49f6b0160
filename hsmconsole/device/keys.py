"""Key operations on a device: list, details, generate, import, export, CSR, certificates, tags, move, use."""

from __future__ import annotations

import json
from collections.abc import Iterable

import nethsm

from hsmconsole.device.client import Caller, Credentials
from hsmconsole.device.keyfiles import LoadedKey
from hsmconsole.errors import HsmConsoleError, InputError
from hsmconsole.inventory import (
    KEY_KINDS,
    CsrSubject,
    KeyInfo,
    KeyMechanism,
    KeyType,
    check_generate,
    check_id,
)
from hsmconsole.secrets import Secret

# The device moves keys (POST /keys/{id}/move, firmware 3.x; reference §6.5): "rename" is that move,
# within the caller's namespace; there is no move between namespaces.


def _missing(key_id: str) -> dict[int, HsmConsoleError]:
    return {
        404: InputError(
            f"There is no key {key_id} (in this namespace).",
            "Refresh the list: it may have been deleted or moved.",
        )
    }


def _status(exc: BaseException) -> int | None:
    status = getattr(exc.__context__, "status", None)
    return status if isinstance(status, int) else None


def _info(key: nethsm.Key) -> KeyInfo:
    key_type = KeyType(key.type.value)
    bits: int | None = KEY_KINDS[key_type].fixed_bits or None
    if isinstance(key.public_key, nethsm.RsaPublicKey):
        bits = int.from_bytes(key.public_key.modulus.decode(), "big").bit_length()
    return KeyInfo(
        key_id=key.key_id,
        type=key_type,
        mechanisms=tuple(sorted((KeyMechanism(m.value) for m in key.mechanisms), key=_MECH_ORDER.index)),
        tags=tuple(key.tags),
        label=key.label or "",
        operations=key.operations,
        bits=bits,
    )


_MECH_ORDER = list(KeyMechanism)


def _sdk_mechs(mechanisms: Iterable[KeyMechanism]) -> list[nethsm.KeyMechanism]:
    return [nethsm.KeyMechanism(m.value) for m in mechanisms]


# --- reads ---------------------------------------------------------------------------------------
def list_key_ids(
    client: Caller, creds: Credentials, *, prefix: str = "", usable_only: bool = False
) -> list[str]:
    """Key ids in the caller's namespace, byte-sorted; `prefix` narrows on the device.
    `usable_only` (for Operators) leaves out keys whose tags the caller does not carry."""
    if prefix:
        check_id(prefix, "Key id prefix")

    def run(s: nethsm.NetHSM) -> list[str]:
        if prefix or usable_only:
            return s.list_keys(filter="true" if usable_only else None, prefix=prefix or None)
        # The SDK validates every item of the answer through its generated schema: 0.5 s for
        # 3,000 keys against 0.01 s for reading the JSON, which is what a long list shows first.
        answer = s._get_api().keys_get(skip_deserialization=True)
        return [str(item["id"]) for item in json.loads(answer.response.data)]

    return client.call("List keys", creds, run)


def get_key(client: Caller, creds: Credentials, key_id: str) -> KeyInfo:
    return client.call(f"Read key {key_id}", creds, lambda s: _info(s.get_key(key_id)), _missing(key_id))


def get_keys(client: Caller, creds: Credentials, key_ids: Iterable[str]) -> list[KeyInfo]:
    """Several keys on one session; a key deleted meanwhile is left out."""
    ids = list(key_ids)

    def run(s: nethsm.NetHSM) -> list[KeyInfo]:
        found = []
        for kid in ids:
            try:
                found.append(_info(s.get_key(kid)))
            except nethsm.NetHSMError as exc:
                if _status(exc) != 404:
                    raise
        return found

    return client.call(f"Read {len(ids)} keys", creds, run)


def _has_cert(s: nethsm.NetHSM, key_id: str) -> bool:
    try:
        s.get_key_certificate(key_id)
    except nethsm.NetHSMError as exc:
        if _status(exc) in (404, 406):
            return False
        raise
    return True


def key_details(client: Caller, creds: Credentials, key_id: str) -> KeyInfo:
    """The key with its public key (PEM, "" for Generic keys) and whether a certificate is stored."""

    def run(s: nethsm.NetHSM) -> KeyInfo:
        info = _info(s.get_key(key_id))
        pem = "" if info.type is KeyType.GENERIC else s.get_key_public_key(key_id)
        return KeyInfo(**{**info.__dict__, "public_pem": pem, "has_certificate": _has_cert(s, key_id)})

    return client.call(f"Read key {key_id}", creds, run, _missing(key_id))


def public_key_pem(client: Caller, creds: Credentials, key_id: str) -> str:
    meaning = _missing(key_id)
    meaning[400] = InputError(f"Key {key_id} is a Generic (AES) key: it has no public key.", "")
    return client.call(
        f"Export the public key of {key_id}", creds, lambda s: s.get_key_public_key(key_id), meaning
    )


def get_certificate(client: Caller, creds: Credentials, key_id: str) -> bytes | None:
    """The stored certificate bytes, or None when the key has none."""

    def run(s: nethsm.NetHSM) -> bytes | None:
        try:
            return s.get_key_certificate(key_id)
        except nethsm.NetHSMError as exc:
            if _status(exc) in (404, 406):
                return None
            raise

    return client.call(f"Read the certificate of {key_id}", creds, run)


# --- changes -------------------------------------------------------------------------------------
def generate_key(
    client: Caller,
    creds: Credentials,
    key_type: KeyType,
    mechanisms: Iterable[KeyMechanism],
    length: int | None = None,
    *,
    key_id: str = "",
    tags: Iterable[str] = (),
    label: str = "",
) -> str:
    """Generate a key (only combinations the device accepts; see `inventory.KEY_KINDS`) and tag it.
    Returns its id (the device makes one up when `key_id` is "")."""
    mechs = tuple(mechanisms)
    send_length = check_generate(key_type, mechs, length)
    if key_id:
        check_id(key_id, "Key id")
    tag_list = [check_id(t, "Tag") for t in tags]
    _check_label(label)

    def run(s: nethsm.NetHSM) -> str:
        new_id = s.generate_key(
            nethsm.KeyType(key_type.value), _sdk_mechs(mechs), send_length, key_id or None, label or None
        )
        # The SDK's generate takes no restrictions: tags go on right after, on the same session.
        for tag in tag_list:
            s.add_key_tag(new_id, tag)
        return new_id

    exists = InputError(f"A key {key_id} already exists in this namespace.", "Choose another id.")
    return client.call(f"Generate key {key_id or ''}".strip(), creds, run, {409: exists})


def _check_label(label: str) -> None:
    if len(label.encode("utf-8")) > 32:
        raise InputError("A key label may be at most 32 bytes long.", "")


def import_key(
    client: Caller,
    creds: Credentials,
    loaded: LoadedKey,
    mechanisms: Iterable[KeyMechanism],
    *,
    key_id: str = "",
    tags: Iterable[str] = (),
    label: str = "",
) -> str:
    """Store a private key read from a file (`device.keyfiles.load_private_key`). The device does
    not check mechanisms on import (reference §5.3), so they are checked here."""
    mechs = tuple(mechanisms)
    check_generate(loaded.type, mechs, None)
    if key_id:
        check_id(key_id, "Key id")
    tag_list = [check_id(t, "Tag") for t in tags]
    _check_label(label)

    def run(s: nethsm.NetHSM) -> str:
        if loaded.type is KeyType.GENERIC:
            raw = nethsm.GenericPrivateKey(nethsm.Base64.encode(loaded.material.reveal()))
            return s.add_key(
                key_id or None, nethsm.KeyType.GENERIC, _sdk_mechs(mechs), raw, tag_list, label or None
            )
        return s.add_key_pem(
            key_id or None, _sdk_mechs(mechs), loaded.material.reveal_str(), tag_list, label or None
        )

    exists = InputError(f"A key {key_id} already exists in this namespace.", "Choose another id.")
    return client.call(f"Import key {key_id}".strip(), creds, run, {409: exists})


def delete_key(client: Caller, creds: Credentials, key_id: str) -> None:
    client.call(f"Delete key {key_id}", creds, lambda s: s.delete_key(key_id), _missing(key_id))


def move_key(client: Caller, creds: Credentials, key_id: str, new_id: str) -> None:
    """Rename a key within its namespace (the device's move; operators' tags and certificate stay)."""
    check_id(new_id, "New key id")
    meaning = _missing(key_id)
    meaning[409] = InputError(f"A key {new_id} already exists in this namespace.", "Choose another id.")
    client.call(f"Rename key {key_id} to {new_id}", creds, lambda s: s.move_key(key_id, new_id), meaning)


def set_label(client: Caller, creds: Credentials, key_id: str, label: str) -> None:
    _check_label(label)

    def run(s: nethsm.NetHSM) -> None:
        try:
            s.set_key_label(key_id, label or None)
        except nethsm.NetHSMError as exc:
            if _status(exc) != 304:  # unchanged
                raise

    client.call(f"Set the label of {key_id}", creds, run, _missing(key_id))


def add_tag(client: Caller, creds: Credentials, key_id: str, tag: str) -> None:
    """Restrict the key to operators with `tag`; adding a tag already there is not an error."""
    check_id(tag, "Tag")

    def run(s: nethsm.NetHSM) -> None:
        try:
            s.add_key_tag(key_id, tag)
        except nethsm.NetHSMError as exc:
            if _status(exc) != 304:
                raise

    client.call(f"Add tag {tag} to key {key_id}", creds, run, _missing(key_id))


def remove_tag(client: Caller, creds: Credentials, key_id: str, tag: str) -> None:
    missing = InputError(f"Key {key_id} has no tag {tag} (or no longer exists).", "Refresh the list.")
    client.call(
        f"Remove tag {tag} from key {key_id}", creds, lambda s: s.delete_key_tag(key_id, tag), {404: missing}
    )


def csr(client: Caller, creds: Credentials, key_id: str, subject: CsrSubject) -> str:
    """A PEM certificate signing request signed by the key on the device."""
    meaning = _missing(key_id)
    meaning[400] = InputError(
        f"Key {key_id}: the device refused the request (a Generic key cannot sign one).", ""
    )

    def run(s: nethsm.NetHSM) -> str:
        return s.key_csr(
            key_id,
            common_name=subject.common_name,
            country=subject.country or None,
            state_or_province=subject.state_or_province or None,
            locality=subject.locality or None,
            organization=subject.organization or None,
            organizational_unit=subject.organizational_unit or None,
            email_address=subject.email_address or None,
            subject_alt_names=list(subject.subject_alt_names) or None,
        )

    return client.call(f"Certificate request for {key_id}", creds, run, meaning)


def set_certificate(client: Caller, creds: Credentials, key_id: str, data: bytes) -> None:
    """Store a certificate with the key (the device keeps the bytes as given, up to 1 MiB)."""
    if not data:
        raise InputError("The certificate file is empty.", "")
    if len(data) > 1024 * 1024:
        raise InputError("The certificate is larger than 1 MiB; the device refuses that.", "")
    meaning = _missing(key_id)
    meaning[409] = InputError(f"Key {key_id} already has a certificate.", "Delete it first to replace it.")
    client.call(
        f"Store a certificate for {key_id}", creds, lambda s: s.set_key_certificate(key_id, data), meaning
    )


def delete_certificate(client: Caller, creds: Credentials, key_id: str) -> None:
    none = InputError(f"Key {key_id} has no certificate.", "")
    client.call(
        f"Delete the certificate of {key_id}", creds, lambda s: s.delete_key_certificate(key_id), {404: none}
    )


# --- use (Operators) -----------------------------------------------------------------------------
def _use_meaning(key_id: str) -> dict[int, HsmConsoleError]:
    meaning = _missing(key_id)
    meaning[403] = InputError(
        f"This operator may not use key {key_id}.",
        "The key has tags and the operator carries none of them, or the user is not an Operator.",
    )
    return meaning


def sign(client: Caller, creds: Credentials, key_id: str, mode: str, message: bytes) -> bytes:
    """Sign `message` (already hashed/padded as the mode requires, reference §6.6) on the device."""
    data = nethsm.Base64.encode(message)
    return client.call(
        f"Sign with {key_id}",
        creds,
        lambda s: s.sign(key_id, data, nethsm.SignMode(mode)).decode(),
        _use_meaning(key_id),
    )


def encrypt_aes(client: Caller, creds: Credentials, key_id: str, plaintext: bytes) -> tuple[bytes, bytes]:
    """AES-CBC without padding (length a multiple of 16); returns (ciphertext, iv)."""
    if len(plaintext) % 16:
        raise InputError("AES-CBC on the device needs a multiple of 16 bytes (it does not pad).", "")
    data = nethsm.Base64.encode(plaintext)

    def run(s: nethsm.NetHSM) -> tuple[bytes, bytes]:
        result = s.encrypt(key_id, data, nethsm.EncryptMode.AES_CBC)
        return result.encrypted.decode(), result.iv.decode()

    return client.call(f"Encrypt with {key_id}", creds, run, _use_meaning(key_id))


def decrypt(
    client: Caller, creds: Credentials, key_id: str, mode: str, ciphertext: bytes, iv: bytes | None = None
) -> Secret:
    """Decrypt on the device; the plaintext is returned as a Secret (it may be one)."""
    data = nethsm.Base64.encode(ciphertext)
    iv64 = nethsm.Base64.encode(iv) if iv is not None else None
    return client.call(
        f"Decrypt with {key_id}",
        creds,
        lambda s: Secret(s.decrypt(key_id, data, nethsm.DecryptMode(mode), iv64).decode(), "plaintext"),
        _use_meaning(key_id),
    )
