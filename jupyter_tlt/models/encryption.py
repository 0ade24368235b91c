"""Optional encryption of model files with the seed's ``-k KEY``: nothing is encrypted without a key.

An encrypted file is ``MAGIC``, a 16-byte salt, a 12-byte nonce and the AES-256-GCM ciphertext of
the plain model file (a ``.keras`` archive or an HDF5 file); the AES key is derived from KEY with
scrypt. GCM authenticates the whole file, so a wrong key and a tampered file are both detected
before a single byte is used.

    encrypt_file("model.keras", "model.tlt", key="tlt_encode")
    plain = read_plain("model.tlt", key="tlt_encode")      # bytes of the .keras archive
"""

from __future__ import annotations

import os
from pathlib import Path

from ..atomic import write_bytes
from ..errors import DataError

MAGIC = b"JTLT-ENCRYPTED-MODEL-1\n"
_SALT, _NONCE = 16, 12
WRONG_KEY = "wrong key, or the model is not encrypted"


def is_encrypted(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _aes(key: str, salt: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return AESGCM(Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(key.encode("utf-8")))


def encrypt(plain: bytes, key: str) -> bytes:
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    return MAGIC + salt + nonce + _aes(key, salt).encrypt(nonce, plain, MAGIC)


def encrypt_file(source: str | os.PathLike, target: str | os.PathLike, key: str) -> Path:
    """Write ``source`` encrypted with ``key`` to ``target`` (atomically)."""
    return write_bytes(target, encrypt(Path(source).read_bytes(), key))


def read_plain(path: str | os.PathLike, key: str | None) -> bytes:
    """The plain bytes of a model file, decrypting it when it is encrypted.

    DataError when it is encrypted and no key, or the wrong key, is given (or it was altered).
    """
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        return data
    if not key:
        raise DataError(f"{path}: the model is encrypted; pass the key it was saved with (-k KEY)")
    from cryptography.exceptions import InvalidTag

    body = data[len(MAGIC):]
    salt, nonce, cipher = body[:_SALT], body[_SALT:_SALT + _NONCE], body[_SALT + _NONCE:]
    try:
        return _aes(key, salt).decrypt(nonce, cipher, MAGIC)
    except InvalidTag:
        raise DataError(f"{path}: cannot decrypt the model: {WRONG_KEY} (or the file was altered); "
                        "pass the -k KEY it was saved with") from None
