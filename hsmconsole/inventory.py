"""What a device holds (users, namespaces, keys) as frozen dataclasses; which keys it accepts (§5)."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from hsmconsole.errors import InputError
from hsmconsole.models import UserRole

ADMIN_USER = "admin"  # created by provisioning; its passphrase belongs to the custodians (rotation)


class KeyType(enum.Enum):
    """Key types of the NetHSM API (`EC_P224` is parsed by the device but unusable, so absent)."""

    RSA = "RSA"
    CURVE25519 = "Curve25519"
    EC_P256 = "EC_P256"
    EC_P384 = "EC_P384"
    EC_P521 = "EC_P521"
    EC_P256K1 = "EC_P256K1"
    BRAINPOOL_P256 = "BrainpoolP256"
    BRAINPOOL_P384 = "BrainpoolP384"
    BRAINPOOL_P512 = "BrainpoolP512"
    GENERIC = "Generic"


class KeyMechanism(enum.Enum):
    """Mechanisms, in the order the device lists them (reference §6.5)."""

    RSA_DECRYPTION_RAW = "RSA_Decryption_RAW"
    RSA_DECRYPTION_PKCS1 = "RSA_Decryption_PKCS1"
    RSA_DECRYPTION_OAEP_MD5 = "RSA_Decryption_OAEP_MD5"
    RSA_DECRYPTION_OAEP_SHA1 = "RSA_Decryption_OAEP_SHA1"
    RSA_DECRYPTION_OAEP_SHA224 = "RSA_Decryption_OAEP_SHA224"
    RSA_DECRYPTION_OAEP_SHA256 = "RSA_Decryption_OAEP_SHA256"
    RSA_DECRYPTION_OAEP_SHA384 = "RSA_Decryption_OAEP_SHA384"
    RSA_DECRYPTION_OAEP_SHA512 = "RSA_Decryption_OAEP_SHA512"
    RSA_SIGNATURE_PKCS1 = "RSA_Signature_PKCS1"
    RSA_SIGNATURE_PSS_MD5 = "RSA_Signature_PSS_MD5"
    RSA_SIGNATURE_PSS_SHA1 = "RSA_Signature_PSS_SHA1"
    RSA_SIGNATURE_PSS_SHA224 = "RSA_Signature_PSS_SHA224"
    RSA_SIGNATURE_PSS_SHA256 = "RSA_Signature_PSS_SHA256"
    RSA_SIGNATURE_PSS_SHA384 = "RSA_Signature_PSS_SHA384"
    RSA_SIGNATURE_PSS_SHA512 = "RSA_Signature_PSS_SHA512"
    EDDSA_SIGNATURE = "EdDSA_Signature"
    ECDSA_SIGNATURE = "ECDSA_Signature"
    BIP340_SIGNATURE = "BIP340_Signature"
    AES_ENCRYPTION_CBC = "AES_Encryption_CBC"
    AES_DECRYPTION_CBC = "AES_Decryption_CBC"


_RSA_MECHS = tuple(m for m in KeyMechanism if m.value.startswith("RSA_"))
_ECDSA = (KeyMechanism.ECDSA_SIGNATURE,)


@dataclass(frozen=True)
class KeyKind:
    """What the device accepts for one key type on generate (reference §5.3).

    `lengths` are the lengths a screen offers; `min_length`/`max_length` what the device takes.
    `fixed_bits` is the size the type implies (curves), 0 when the length is chosen (RSA, AES)."""

    type: KeyType
    title: str
    mechanisms: tuple[KeyMechanism, ...]
    lengths: tuple[int, ...] = ()
    min_length: int = 0
    max_length: int = 0
    fixed_bits: int = 0

    @property
    def has_length(self) -> bool:
        return bool(self.lengths)

    @property
    def default_length(self) -> int:
        """The length to send: the SDK's schema wants 128..8192 even where the device ignores it."""
        return self.lengths[0] if self.lengths else 128


KEY_KINDS: dict[KeyType, KeyKind] = {
    k.type: k
    for k in (
        KeyKind(KeyType.RSA, "RSA", _RSA_MECHS, (3072, 2048, 4096), 1024, 8192),
        KeyKind(KeyType.CURVE25519, "Ed25519", (KeyMechanism.EDDSA_SIGNATURE,), fixed_bits=255),
        KeyKind(KeyType.EC_P256, "NIST P-256", _ECDSA, fixed_bits=256),
        KeyKind(KeyType.EC_P384, "NIST P-384", _ECDSA, fixed_bits=384),
        KeyKind(KeyType.EC_P521, "NIST P-521", _ECDSA, fixed_bits=521),
        KeyKind(
            KeyType.EC_P256K1, "secp256k1",
            (KeyMechanism.ECDSA_SIGNATURE, KeyMechanism.BIP340_SIGNATURE), fixed_bits=256,
        ),
        KeyKind(KeyType.BRAINPOOL_P256, "Brainpool P-256", _ECDSA, fixed_bits=256),
        KeyKind(KeyType.BRAINPOOL_P384, "Brainpool P-384", _ECDSA, fixed_bits=384),
        KeyKind(KeyType.BRAINPOOL_P512, "Brainpool P-512", _ECDSA, fixed_bits=512),
        # The device takes 128..8192 bits for Generic, but only 16/24/32-byte keys work for AES.
        KeyKind(
            KeyType.GENERIC, "AES (Generic)",
            (KeyMechanism.AES_ENCRYPTION_CBC, KeyMechanism.AES_DECRYPTION_CBC), (256, 128, 192),
            128, 8192,
        ),
    )
}


def check_generate(
    key_type: KeyType, mechanisms: tuple[KeyMechanism, ...] | list[KeyMechanism], length: int | None
) -> int:
    """Refuse, before anything is sent, what the device would refuse on generate; return the length
    to send. Messages say what is wrong and what would be accepted."""
    kind = KEY_KINDS[key_type]
    if not mechanisms:
        raise InputError(
            f"A {kind.title} key needs at least one mechanism.",
            "Choose from: " + ", ".join(m.value for m in kind.mechanisms) + ".",
        )
    wrong = [m.value for m in mechanisms if m not in kind.mechanisms]
    if wrong:
        raise InputError(
            f"{', '.join(wrong)} cannot be used with a {kind.title} key.",
            "Choose from: " + ", ".join(m.value for m in kind.mechanisms) + ".",
        )
    if not kind.has_length:
        return kind.default_length
    if length is None:
        return kind.default_length
    if not kind.min_length <= length <= kind.max_length:
        raise InputError(
            f"A {kind.title} key cannot be {length} bits long.",
            f"The device accepts {kind.min_length} to {kind.max_length} bits.",
        )
    if key_type is KeyType.GENERIC and length not in (128, 192, 256):
        raise InputError(
            f"An AES key of {length} bits would be stored but could not encrypt anything.",
            "Use 128, 192 or 256 bits.",
        )
    return length


# --- identifiers (reference §5.1) ---------------------------------------------------------------
_ID_CHARS = re.compile(r"[A-Za-z0-9_.-]*")


def id_problem(text: str) -> str:
    """Why the device would refuse this as a key, namespace, tag or user-id part; "" if valid."""
    if not text:
        return "it is empty"
    if len(text) > 128:
        return "it is longer than 128 characters"
    if not text.isascii() or _ID_CHARS.fullmatch(text) is None:
        return "only letters, digits, '_', '.' and '-' are allowed"
    if text[0] in "_.-":
        return "it cannot start with '_', '.' or '-'"
    return ""


def check_id(text: str, what: str) -> str:
    """`text` if the device would accept it as an id, else an InputError naming `what`."""
    problem = id_problem(text)
    if problem:
        raise InputError(f"{what} {text!r} is not valid: {problem}.", "")
    return text


def split_user_id(user_id: str) -> tuple[str, str]:
    """'ns~alice' -> ('ns', 'alice'); 'alice' -> ('', 'alice') (split at the first '~')."""
    ns, sep, name = user_id.partition("~")
    return (ns, name) if sep else ("", user_id)


def check_user_id(user_id: str) -> str:
    ns, name = split_user_id(user_id)
    if ns or "~" in user_id:
        check_id(ns, "The namespace of user")
    check_id(name, "User id")
    return user_id


# --- what the device holds ----------------------------------------------------------------------
@dataclass(frozen=True)
class UserInfo:
    """One user. `tags` are operator tags (empty for other roles)."""

    user_id: str
    real_name: str
    role: UserRole
    tags: tuple[str, ...] = ()

    @property
    def namespace(self) -> str:
        return split_user_id(self.user_id)[0]


@dataclass(frozen=True)
class NamespaceInfo:
    """A namespace, its users (ids) and, when the reader could see them, its key count."""

    namespace: str
    users: tuple[str, ...] = ()
    keys: int | None = None  # root administrators cannot see namespaced keys (reference §4.1)
    exists: bool = True  # False: only users named ns~x exist (created first, or the namespace deleted)


@dataclass(frozen=True)
class KeyInfo:
    """One key as GET /keys/{id} shows it, plus what details add.

    `bits` is the modulus or curve size (None for Generic keys: the device does not say).
    `public_pem` is "" unless details were read; `has_certificate` is None unless read."""

    key_id: str
    type: KeyType
    mechanisms: tuple[KeyMechanism, ...]
    tags: tuple[str, ...] = ()
    label: str = ""
    operations: int = 0
    bits: int | None = None
    public_pem: str = ""
    has_certificate: bool | None = None

    @property
    def kind(self) -> KeyKind:
        return KEY_KINDS[self.type]


@dataclass(frozen=True)
class CsrSubject:
    """Subject fields and subject alternative names for a certificate signing request."""

    common_name: str
    country: str = ""
    state_or_province: str = ""
    locality: str = ""
    organization: str = ""
    organizational_unit: str = ""
    email_address: str = ""
    subject_alt_names: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.common_name.strip():
            raise InputError("A certificate request needs a common name.", "Type one (the service name).")
        if self.country and (len(self.country) != 2 or not self.country.isalpha()):
            raise InputError(f"Country {self.country!r} is not a two-letter code.", "For example DE or US.")


class KeyTestKind(enum.Enum):
    SIGN = "sign"  # signed on the device, verified here with `cryptography`
    AES_ROUND_TRIP = "aes"  # encrypted and decrypted on the device, compared here
    DECRYPT = "decrypt"  # encrypted here with the public key, decrypted on the device


@dataclass(frozen=True)
class KeyTestResult:
    """What the "test" action showed: the key worked end to end, or how it did not."""

    key_id: str
    kind: KeyTestKind
    mode: str  # the sign mode or "AES_CBC"
    ok: bool
    detail: str
