"""monitor.redact: every form of a configured secret is hidden, and nothing else is touched.

The oracle for base64 is independent of the redactor's own list of forms: every run of base64
characters left in the output is decoded at each of the four alignments, and the secret must
not come out of any of them."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import string
import sys
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from monitor import config, logs
from monitor.logs import JsonLines, Readable
from monitor.redact import MARK, Redactor, has_credentials, public_url, redact_url

# Passwords as people and password managers make them: printable ASCII, no spaces at the ends.
SECRETS = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=10, max_size=40
).filter(lambda s: MARK not in s)
AROUND = st.text(max_size=30)
BYTES = st.binary(max_size=5)
CREDENTIAL_NAMES = (
    "token",
    "key",
    "api_key",
    "apikey",
    "access_token",
    "secret",
    "password",
    "sig",
    "signature",
    "auth",
    "X-Amz-Signature",
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def decodes_to(text: str, secret: bytes) -> bool:
    """Whether any run of base64 characters in `text`, read at any alignment, holds `secret`."""
    for run in re.findall(r"[A-Za-z0-9+/_-]{4,}={0,2}", text):
        normal = run.replace("-", "+").replace("_", "/").rstrip("=")
        for start in range(4):
            piece = normal[start:]
            if len(piece) % 4 == 1:  # a lone last character encodes no whole byte
                piece = piece[:-1]
            try:
                if secret in base64.b64decode(piece + "=" * (-len(piece) % 4)):
                    return True
            except (binascii.Error, ValueError):
                continue
    return False


@given(SECRETS, AROUND, AROUND)
@example("s3cret-Pa55!+/=", "login refused: ", " (try again)")
def test_the_plain_and_url_encoded_forms_are_hidden(secret: str, before: str, after: str) -> None:
    redactor = Redactor.of([secret])
    for form in (secret, quote(secret, safe=""), quote_plus(secret), quote(secret)):
        out = redactor.redact(before + form + after)
        assert form not in out and secret not in out
        assert MARK in out


@given(SECRETS, AROUND, AROUND)
def test_the_json_escaped_form_is_hidden(secret: str, before: str, after: str) -> None:
    escaped = json.dumps(secret)[1:-1]
    out = Redactor.of([secret]).redact(before + escaped + after)
    assert escaped not in out and secret not in out


@given(SECRETS, AROUND, AROUND)
def test_the_whole_value_base64_forms_are_hidden(secret: str, before: str, after: str) -> None:
    raw = secret.encode()
    redactor = Redactor.of([secret])
    for form in (b64(raw), b64(raw).rstrip("="), base64.urlsafe_b64encode(raw).decode()):
        out = redactor.redact(f"{before} {form} {after}")
        assert form not in out
        assert not decodes_to(out, raw)


@given(SECRETS, BYTES, BYTES)
@example("Pa55+w0rd/x=Q?&k", b"\x00user\x00", b"")
def test_base64_of_the_secret_inside_a_longer_value_is_hidden(
    secret: str, prefix: bytes, suffix: bytes
) -> None:
    """At any of the three byte alignments: what is left decodes to at most a few bytes of it."""
    raw = secret.encode()
    out = Redactor.of([secret]).redact("535 " + b64(prefix + raw + suffix))
    assert not decodes_to(out, raw)


@given(SECRETS, SECRETS)
@example("monitor-bot", "s3cret-Pa55!")
def test_smtp_auth_plain_and_login_are_hidden(user: str, password: str) -> None:
    assume(user != password)
    redactor = Redactor.of([user, password], [(user, password)])
    plain = b64(f"\0{user}\0{password}".encode())
    with_authzid = b64(f"{user}\0{user}\0{password}".encode())
    login = f"{b64(user.encode())} {b64(password.encode())}"
    out = redactor.redact(f"535 5.7.8 AUTH PLAIN {plain} / {with_authzid}; AUTH LOGIN {login}")
    for secret in (user, password):
        assert secret not in out
        assert not decodes_to(out, secret.encode())
    assert not decodes_to(out, f"\0{user}\0{password}".encode())


@given(
    st.sampled_from(CREDENTIAL_NAMES),
    st.text(string.ascii_letters + string.digits + "-._~%+/=!$*,:@", min_size=1),
)
def test_credential_query_values_are_hidden_without_being_configured(name: str, value: str) -> None:
    assume(value != MARK)
    for query in ("{}&lang=ko", "lang=ko&{}"):
        out = Redactor().redact(
            f"GET https://example.org/feed?{query.format(name + '=' + value)} x"
        )
        assert out == f"GET https://example.org/feed?{query.format(name + '=' + MARK)} x"


@pytest.mark.parametrize("name", ["q", "lang", "page", "id", "format"])
def test_ordinary_query_values_are_kept(name: str) -> None:
    text = f"https://example.org/search?{name}=비핵화&x=1: HTTP 404"
    assert Redactor().redact(text) == text


@given(SECRETS, st.text(max_size=200))
def test_text_without_secrets_is_unchanged_and_redaction_is_idempotent(
    secret: str, text: str
) -> None:
    redactor = Redactor.of([secret])
    out = redactor.redact(text)
    assert redactor.redact(out) == out
    assume(not any(form in text for form in redactor.forms) and "=" not in text)
    assert out == text


def test_values_too_short_to_be_secrets_are_left_alone() -> None:
    redactor = Redactor.of(["abc", "", None])
    assert redactor.forms == ()
    assert redactor.redact("abc abcabc") == "abc abcabc"


def test_urls_keep_their_form_unless_they_carry_credentials() -> None:
    plain = "https://www.mofa.go.kr/www/brd/m_4080/list.do?page=2"
    assert public_url(plain) == plain and not has_credentials(plain)
    secret = "https://user:pw@example.org/feed.xml?token=abc&lang=ko"
    assert has_credentials(secret)
    assert public_url(secret) == "https://example.org/feed.xml?token=%2A%2A%2A&lang=ko"
    assert redact_url("http://[::1") == "<unparsable URL>"


def test_the_settings_name_every_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_USER", "relay-login")
    monkeypatch.setenv("T_PASSWORD", "hunter2-hunter2")
    monkeypatch.setenv("T_TOKEN", "tok-123456")
    raw = {
        "email": {"username_env": "T_USER", "password_env": "T_PASSWORD"},
        "webhooks": [
            {
                "name": "slack",
                "url": "https://hooks.slack.com/services/T0AB12CD/B0EF34GH/Xa9fQ2mP7kL3vB8n",
                "token_env": "T_TOKEN",
            },
            {"name": "ops", "url": "https://ops:basicpw1@example.org/hook"},
        ],
        "sources": [
            {"name": "a", "kind": "feed", "url": "https://example.org/rss?api_key=k-998877"},
        ],
    }
    redactor = Redactor.from_settings(config.parse(raw, environment=False))
    text = (
        "relay-login hunter2-hunter2 Bearer tok-123456 /services/T0AB12CD/B0EF34GH/Xa9fQ2mP7kL3vB8n "
        "said Xa9fQ2mP7kL3vB8n and B0EF34GH; basicpw1 "
        + b64(b"ops:basicpw1")
        + " k-998877 services hooks"
    )
    out = redactor.redact(text)
    for secret in ("relay-login", "hunter2", "tok-123456", "Xa9fQ2mP7kL3vB8n", "B0EF34GH"):
        assert secret not in out
    for secret in ("basicpw1", b64(b"ops:basicpw1"), "k-998877"):
        assert secret not in out
    assert out.endswith(" services hooks"), "plain words of a webhook path are not secrets"


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("monitor.poll", logging.WARNING, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_the_log_formatters_redact_messages_fields_and_tracebacks() -> None:
    secret = 'pa"ss\\word-1'
    redactor = Redactor.of([secret])
    try:
        raise RuntimeError(f"server said {secret}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = _record(
        f"refused {secret}",
        error=f"535 {secret}",
        url=f"http://h/?token={secret}",
        errors=[{"source": "a", "error": secret}],
        count=3,
    )
    record.exc_info = exc_info
    line = JsonLines(redactor).format(record)
    parsed = json.loads(line)
    assert secret not in line and json.dumps(secret)[1:-1] not in line
    assert parsed["message"] == f"refused {MARK}" and parsed["error"] == f"535 {MARK}"
    assert MARK in parsed["exception"] and parsed["url"] == f"http://h/?token={MARK}"
    assert parsed["errors"] == [{"source": "a", "error": MARK}] and parsed["count"] == 3
    readable = Readable(redactor).format(record)
    assert secret not in readable and readable.count(MARK) >= 3


def test_commands_without_a_log_setup_print_warnings_redacted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What `monitor once` prints on stderr when something logs a warning with a secret."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = []
    try:
        logs.to_stderr(Redactor.of(["hunter2-hunter2"]))
        logs.to_stderr(Redactor.of(["hunter2-hunter2"]))  # once is enough
        assert len(root.handlers) == 1
        logging.getLogger("monitor.test").warning("refused hunter2-hunter2 at ?key=abc")
        logging.getLogger("monitor.test").info("not shown")
    finally:
        root.handlers[:] = saved
    assert capsys.readouterr().err == "refused *** at ?key=***\n"
