"""WeCom callback crypto against the official vectors (Tencent samples and wechatpy's tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.wecom.crypto import (
    WeComCallbackRejected,
    WeComCallbackStale,
    WeComConfigurationError,
    WeComCrypto,
)
from connectors.wecom.models import CallbackQuery

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "data" / "wecom" / "wecom_crypto_vectors.json")
                     .read_text(encoding="utf-8"))


def crypto_for(vector_set: str, now: str | int | None = None) -> WeComCrypto:
    """The vectors date from 2014-2016: `now` pins the crypto's clock to the vector's own timestamp."""
    vectors = VECTORS[vector_set]
    if now is None:
        return WeComCrypto(vectors["token"], vectors["encoding_aes_key"], vectors["corp_id"])
    return WeComCrypto(vectors["token"], vectors["encoding_aes_key"], vectors["corp_id"], clock=lambda: float(now))


@pytest.mark.parametrize("vector_set", ["tencent_xml", "wechatpy", "tencent_doc_QDG6eK"])
def test_url_verification_returns_the_official_echo_plaintext(vector_set: str) -> None:
    verify = VECTORS[vector_set]["verify_url"]
    query = CallbackQuery(msg_signature=verify["msg_signature"], timestamp=verify["timestamp"],
                          nonce=verify["nonce"], echostr=verify["echostr"])
    assert crypto_for(vector_set, verify["timestamp"]).verify_url(query) == verify["expected_echo_plaintext"]


def test_url_verification_restores_plus_signs_lost_to_query_decoding() -> None:
    verify = VECTORS["tencent_doc_QDG6eK"]["verify_url"]
    assert "+" in verify["echostr"]
    query = CallbackQuery(msg_signature=verify["msg_signature"], timestamp=verify["timestamp"],
                          nonce=verify["nonce"], echostr=verify["echostr"].replace("+", " "))
    assert crypto_for("tencent_doc_QDG6eK", verify["timestamp"]).verify_url(query) == verify["expected_echo_plaintext"]


def test_url_verification_with_wrong_nonce_is_rejected() -> None:
    bad = VECTORS["wechatpy"]["verify_url_bad_nonce_must_fail"]
    query = CallbackQuery(msg_signature=bad["msg_signature"], timestamp=bad["timestamp"], nonce=bad["nonce"],
                          echostr=bad["echostr"])
    with pytest.raises(WeComCallbackRejected):
        crypto_for("wechatpy", bad["timestamp"]).verify_url(query)


def test_tencent_sample_post_body_decrypts_to_the_expected_xml() -> None:
    sample = VECTORS["tencent_xml"]["decrypt_msg"]
    query = CallbackQuery(msg_signature=sample["msg_signature"], timestamp=sample["timestamp"], nonce=sample["nonce"])
    assert crypto_for("tencent_xml", sample["timestamp"]).decrypt_callback(sample["post_body"], query) == sample["expected_plaintext"]


def test_tencent_doc_xml_and_json_payloads_decrypt_to_the_expected_plaintext() -> None:
    crypto = crypto_for("tencent_doc_QDG6eK", VECTORS["tencent_doc_QDG6eK"]["decrypt_msg_xml"]["timestamp"])
    for name in ("decrypt_msg_xml", "decrypt_msg_json"):
        sample = VECTORS["tencent_doc_QDG6eK"][name]
        query = CallbackQuery(msg_signature=sample["msg_signature"], timestamp=sample["timestamp"],
                              nonce=sample["nonce"])
        assert crypto.decrypt_encrypted(sample["encrypt"], query) == sample["expected_plaintext"]


def test_wechatpy_sample_message_decrypts_to_its_content() -> None:
    sample = VECTORS["wechatpy"]["decrypt_msg"]
    query = CallbackQuery(msg_signature=sample["msg_signature"], timestamp=sample["timestamp"], nonce=sample["nonce"])
    plaintext = crypto_for("wechatpy", sample["timestamp"]).decrypt_encrypted(sample["encrypt"], query)
    for value in sample["expect"].values():
        assert f"<![CDATA[{value}]]>" in plaintext


def test_encryption_with_the_fixed_random_prefix_matches_the_wechatpy_vector() -> None:
    vector = VECTORS["wechatpy"]["encrypt_msg_with_fixed_random"]
    envelope = crypto_for("wechatpy").encrypt(vector["plaintext"], nonce=vector["nonce"],
                                              timestamp=vector["timestamp"], random16=vector["random16"])
    assert envelope.encrypt == vector["expected_encrypt"]
    assert envelope.msg_signature == vector["expected_msg_signature"]


@pytest.mark.parametrize("plaintext", ["<xml><Content><![CDATA[你好，华东人民医院]]></Content></xml>", "x", "a" * 5000])
def test_encrypt_then_decrypt_round_trips(plaintext: str) -> None:
    crypto = crypto_for("tencent_xml")
    envelope = crypto.encrypt(plaintext, nonce="12345")
    query = CallbackQuery(msg_signature=envelope.msg_signature, timestamp=envelope.timestamp, nonce=envelope.nonce)
    assert crypto.decrypt_encrypted(envelope.encrypt, query) == plaintext
    assert crypto.encrypt(plaintext, nonce="12345").encrypt != envelope.encrypt  # random prefix differs


def test_tampered_signature_and_foreign_corp_are_rejected() -> None:
    crypto = crypto_for("tencent_xml", 1476422779)
    envelope = crypto.encrypt("<xml/>", nonce="1", timestamp="1476422779")
    tampered = CallbackQuery(msg_signature="0" * 40, timestamp=envelope.timestamp, nonce=envelope.nonce)
    with pytest.raises(WeComCallbackRejected):
        crypto.decrypt_encrypted(envelope.encrypt, tampered)
    vectors = VECTORS["tencent_xml"]
    other_corp = WeComCrypto(vectors["token"], vectors["encoding_aes_key"], "ww-some-other-corp",
                             clock=lambda: 1476422779.0)
    signed = CallbackQuery(msg_signature=envelope.msg_signature, timestamp=envelope.timestamp, nonce=envelope.nonce)
    with pytest.raises(WeComCallbackRejected):
        other_corp.decrypt_encrypted(envelope.encrypt, signed)


def test_body_without_encrypt_element_is_rejected() -> None:
    query = CallbackQuery(msg_signature="a", timestamp="1", nonce="2")
    for body in ("not xml", "<xml><ToUserName>x</ToUserName></xml>"):
        with pytest.raises(WeComCallbackRejected):
            crypto_for("tencent_xml", 1).decrypt_callback(body, query)


def test_missing_or_malformed_settings_name_the_setting_to_fix() -> None:
    with pytest.raises(WeComConfigurationError, match="SALESBOT_WECOM_TOKEN"):
        WeComCrypto("", VECTORS["tencent_xml"]["encoding_aes_key"], "corp")
    with pytest.raises(WeComConfigurationError, match="SALESBOT_WECOM_AES_KEY"):
        WeComCrypto("token", "too-short", "corp")


def test_official_vectors_are_refused_as_stale_on_the_real_clock() -> None:
    """Tencent's published 2016 sample verifies cryptographically, but replaying it today must not be accepted."""
    sample = VECTORS["tencent_xml"]["decrypt_msg"]
    query = CallbackQuery(msg_signature=sample["msg_signature"], timestamp=sample["timestamp"], nonce=sample["nonce"])
    with pytest.raises(WeComCallbackStale, match="300 s"):
        crypto_for("tencent_xml").decrypt_callback(sample["post_body"], query)
    verify = VECTORS["tencent_xml"]["verify_url"]
    verify_query = CallbackQuery(msg_signature=verify["msg_signature"], timestamp=verify["timestamp"],
                                 nonce=verify["nonce"], echostr=verify["echostr"])
    with pytest.raises(WeComCallbackStale):
        crypto_for("tencent_xml").verify_url(verify_query)


@pytest.mark.parametrize("offset_s, accepted", [(0, True), (299, True), (-299, True), (301, False), (-301, False),
                                                 (86_400, False)])
def test_freshness_window_is_five_minutes_either_side(offset_s: int, accepted: bool) -> None:
    sample = VECTORS["tencent_xml"]["decrypt_msg"]
    query = CallbackQuery(msg_signature=sample["msg_signature"], timestamp=sample["timestamp"], nonce=sample["nonce"])
    crypto = crypto_for("tencent_xml", int(sample["timestamp"]) + offset_s)
    if accepted:
        assert crypto.decrypt_callback(sample["post_body"], query) == sample["expected_plaintext"]
    else:
        with pytest.raises(WeComCallbackStale):
            crypto.decrypt_callback(sample["post_body"], query)


@pytest.mark.parametrize("timestamp", ["", "abc", "1476422779.5", "-1476422779", "１４７６４２２７７９", "9" * 40])
def test_malformed_timestamps_are_refused_before_any_crypto(timestamp: str) -> None:
    sample = VECTORS["tencent_xml"]["decrypt_msg"]
    query = CallbackQuery(msg_signature=sample["msg_signature"], timestamp=timestamp, nonce=sample["nonce"])
    with pytest.raises(WeComCallbackStale):
        crypto_for("tencent_xml", sample["timestamp"]).decrypt_callback(sample["post_body"], query)
