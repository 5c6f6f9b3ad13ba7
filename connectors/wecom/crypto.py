"""WeCom callback cryptography: a thin wrapper over wechatpy.enterprise.crypto.WeChatCrypto."""

from __future__ import annotations

import binascii
import logging
import time
from collections.abc import Callable
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import random_string

from connectors.wecom.models import CallbackQuery, EncryptedEnvelope

logger = logging.getLogger(__name__)

ENCODING_AES_KEY_LENGTH = 43
# A signed callback is only as fresh as its timestamp: one captured in transit (or Tencent's published 2016
# sample) must not be replayable for ever. Slack allows five minutes of skew; so do we.
CALLBACK_TIMESTAMP_WINDOW_S = 300


class WeComCallbackRejected(Exception):
    """A callback that fails the signature check or cannot be decrypted; answered with 4xx, never processed."""


class WeComCallbackStale(WeComCallbackRejected):
    """A callback whose timestamp is missing, malformed or outside the freshness window (a replay or a bad clock)."""


class WeComConfigurationError(ValueError):
    """Token, EncodingAESKey or corp id missing or malformed; the message says which setting to fix."""


class WeComCrypto:
    """Verifies and decrypts WeCom callbacks, and encrypts payloads the way WeCom does (for tests and replies)."""

    def __init__(self, token: str, encoding_aes_key: str, corp_id: str, *,
                 clock: Callable[[], float] = time.time,
                 timestamp_window_s: int = CALLBACK_TIMESTAMP_WINDOW_S) -> None:
        """`clock` gives the current Unix time; tests pin it to replay the official (2014-2016) vectors."""
        missing = [
            name
            for name, value in (
                ("SALESBOT_WECOM_TOKEN", token),
                ("SALESBOT_WECOM_AES_KEY", encoding_aes_key),
                ("SALESBOT_WECOM_CORP_ID", corp_id),
            )
            if not value
        ]
        if missing:
            raise WeComConfigurationError(f"WeCom callback settings missing: {', '.join(missing)}")
        if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
            raise WeComConfigurationError(
                f"SALESBOT_WECOM_AES_KEY must be the {ENCODING_AES_KEY_LENGTH}-character EncodingAESKey "
                f"from the WeCom admin console (got {len(encoding_aes_key)} characters)"
            )
        try:
            self._wechat_crypto = WeChatCrypto(token, encoding_aes_key, corp_id)
        except (binascii.Error, ValueError, AssertionError) as error:
            raise WeComConfigurationError(
                "SALESBOT_WECOM_AES_KEY is not a valid EncodingAESKey (base64, 43 characters)"
            ) from error
        self.token = token
        self.corp_id = corp_id
        self._clock = clock
        self._timestamp_window_s = timestamp_window_s

    def check_freshness(self, query: CallbackQuery) -> None:
        """Raise WeComCallbackStale unless the callback's timestamp is within the window around now."""
        timestamp = query.timestamp.strip()
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            raise WeComCallbackStale("timestamp is not a Unix time in seconds")
        skew = abs(self._clock() - int(timestamp))
        if skew > self._timestamp_window_s:
            raise WeComCallbackStale(
                f"timestamp is {int(skew)} s away from now (more than {self._timestamp_window_s} s): replay or clock skew"
            )

    def verify_url(self, query: CallbackQuery) -> str:
        """GET URL verification: check msg_signature over echostr and return the decrypted echo plaintext."""
        if not query.echostr:
            raise WeComCallbackRejected("echostr missing")
        self.check_freshness(query)
        candidates = [query.echostr]
        # A '+' in a non-urlencoded echostr arrives as a space after query-string decoding; try it restored.
        if " " in query.echostr:
            candidates.append(query.echostr.replace(" ", "+"))
        for echostr in candidates:
            try:
                return self._wechat_crypto.check_signature(
                    query.msg_signature, query.timestamp, query.nonce, echostr
                )
            except InvalidSignatureException:
                continue
            except _DECRYPT_ERRORS as error:
                raise WeComCallbackRejected(f"echostr could not be decrypted: {type(error).__name__}") from error
        raise WeComCallbackRejected("msg_signature does not match")

    def decrypt_callback(self, body: bytes | str, query: CallbackQuery) -> str:
        """POST: check freshness and the signature of the <Encrypt> element; return the decrypted message XML."""
        self.check_freshness(query)  # before parsing anything: a stale callback costs no XML work
        try:
            envelope = xmltodict.parse(body)["xml"]
        except (ExpatError, KeyError, TypeError) as error:
            raise WeComCallbackRejected("callback body is not WeCom XML") from error
        if not isinstance(envelope, dict) or not envelope.get("Encrypt"):
            raise WeComCallbackRejected("callback body has no <Encrypt> element")
        return self.decrypt_encrypted(envelope["Encrypt"], query)

    def decrypt_encrypted(self, encrypted: str, query: CallbackQuery) -> str:
        """Check freshness and the signature of one encrypted payload, and decrypt it (XML or JSON plaintext)."""
        self.check_freshness(query)
        try:
            return self._wechat_crypto.decrypt_message(
                {"Encrypt": encrypted}, query.msg_signature, query.timestamp, query.nonce
            )
        except InvalidSignatureException as error:
            raise WeComCallbackRejected("msg_signature does not match") from error
        except _DECRYPT_ERRORS as error:
            raise WeComCallbackRejected(f"payload could not be decrypted: {type(error).__name__}") from error

    def encrypt(
        self, plaintext: str, nonce: str, timestamp: str | None = None, random16: str | None = None
    ) -> EncryptedEnvelope:
        """Encrypt and sign a plaintext as WeCom does; random16 fixes the random prefix (for test vectors)."""
        prefix = random16 if random16 is not None else random_string(16)
        if len(prefix) != 16:
            raise ValueError("random16 must be exactly 16 characters")
        timestamp = timestamp or str(int(time.time()))
        # wechatpy's public encrypt_message always draws a random prefix; its _encrypt_message takes the
        # PrpCrypto class, which is the one seam that lets the official fixed-random vector be reproduced.
        crypto_class = _prp_crypto_with_prefix(prefix)
        reply_xml = self._wechat_crypto._encrypt_message(plaintext, nonce, timestamp, crypto_class)
        fields = xmltodict.parse(reply_xml)["xml"]
        return EncryptedEnvelope(
            encrypt=fields["Encrypt"], msg_signature=fields["MsgSignature"], timestamp=fields["TimeStamp"],
            nonce=fields["Nonce"],
        )


# Wrong key, truncated or tampered ciphertext, or another corp's payload: all mean "not for us".
_DECRYPT_ERRORS = (InvalidCorpIdException, binascii.Error, ValueError, UnicodeDecodeError, IndexError)


def _prp_crypto_with_prefix(prefix: str) -> type[PrpCrypto]:
    """A PrpCrypto whose 16-byte random prefix is given (wechatpy draws it from get_random_string)."""

    class PrpCryptoWithGivenPrefix(PrpCrypto):
        def get_random_string(self) -> str:
            return prefix

    return PrpCryptoWithGivenPrefix

