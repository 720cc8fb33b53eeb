"""monitor.alerts.mail and webhooks: mail through a real SMTP server on loopback (aiosmtpd:
plain, STARTTLS, implicit TLS, AUTH) and webhooks to a real HTTP server (pytest-httpserver)."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pytest_httpserver import HTTPServer

from monitor.alerts.mail import build_email, message_id, send_email
from monitor.alerts.webhooks import idempotency_key, send_webhook, slack_body
from monitor.config import EmailSettings, WebhookSettings
from monitor.errors import NotifyError
from monitor.models import Message
from monitor.render.messages import change_message
from tests.events import LABELS, NEW_COMPLETE, OLD_CVID, change_event
from tests.mail import free_port

KOREAN_TITLE = "한미 정상 공동성명 — 비핵화 문구 변경"
RECIPIENTS = ("analyst@example.org", "desk@example.org", "김분석@example.kr")
USER, PASSWORD = "monitor-bot", "s3cret-Pa55!"


@dataclass
class Sink:
    """An aiosmtpd handler that keeps what it receives; refuses the addresses in `refuse`."""

    refuse: set[str] = field(default_factory=set)
    received: list[tuple[Envelope, Session]] = field(default_factory=list)
    tls: list[bool] = field(default_factory=list)  # per message: did it come over TLS
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((envelope, session))
        assert server.transport is not None
        self.tls.append(server.transport.get_extra_info("ssl_object") is not None)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if isinstance(data, LoginPassword):
            self.logins.append((data.login, data.password))
        return AuthResult(success=ok, handled=False)

    def mail(self, n: int = 0) -> EmailMessage:
        content = self.received[n][0].content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


Start = Callable[..., tuple[Sink, EmailSettings]]


@pytest.fixture
def smtp_server() -> Iterator[Start]:
    """Start an aiosmtpd server on loopback; returns its sink and matching EmailSettings."""
    controllers: list[Controller] = []

    def start(
        sink: Sink | None = None, *, security: str = "none", **kwargs: Any
    ) -> tuple[Sink, EmailSettings]:
        sink = sink or Sink()
        if "authenticator" in kwargs:
            kwargs["authenticator"] = sink.authenticate
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        settings = EmailSettings(
            host="127.0.0.1",
            port=port,
            security=security,
            sender="monitor@example.org",
            to=RECIPIENTS,
            timeout=5,
        )
        return sink, settings

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from a throwaway CA the client trusts
    (through SSL_CERT_FILE, which ssl.create_default_context reads)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return server


def alert(dedup_key: str = "change:42:email") -> Message:
    event = change_event(
        f"{OLD_CVID} 양국은 북한의 완전한 비핵화를 재확인했다.", NEW_COMPLETE, title=KOREAN_TITLE
    )
    return change_message(event, dedup_key=dedup_key, timezone="Asia/Seoul", labels=LABELS)


def with_login(settings: EmailSettings, monkeypatch: pytest.MonkeyPatch) -> EmailSettings:
    monkeypatch.setenv("TEST_SMTP_USER", USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    return settings.model_copy(
        update={"username_env": "TEST_SMTP_USER", "password_env": "TEST_SMTP_PASSWORD"}
    )


# ---- email -------------------------------------------------------------------------------------


def test_the_alert_arrives_multipart_with_korean_intact(smtp_server: Start) -> None:
    sink, settings = smtp_server()
    message = alert()
    send_email(settings, RECIPIENTS, message)
    assert len(sink.received) == 1  # one transaction, every recipient
    assert sink.tls == [False]
    envelope, _ = sink.received[0]
    assert envelope.mail_from == "monitor@example.org"
    assert envelope.rcpt_tos == list(RECIPIENTS)
    mail = sink.mail()
    assert mail["Subject"] == message.subject
    assert KOREAN_TITLE in mail["Subject"]
    assert mail["From"] == "monitor@example.org"
    assert [a.strip() for a in str(mail["To"]).split(",")] == list(RECIPIENTS)
    assert mail["Message-ID"] == message_id("change:42:email")
    assert "change-42-email" in mail["Message-ID"]
    assert mail["X-Monitor-Dedup-Key"] == "change:42:email"
    assert mail["Date"] is not None and mail["Date"].datetime.tzinfo is not None
    assert mail.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in mail.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    plain = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert plain is not None and html is not None
    assert plain.get_content().replace("\r\n", "\n") == message.text
    assert html.get_content().replace("\r\n", "\n") == message.html
    assert "양국은 북한의 완전한 비핵화를 재확인했다." in plain.get_content()
    # (an internationalised address: smtplib sends SMTPUTF8, headers in UTF-8)


def test_ascii_addresses_need_no_8bit_or_smtputf8(smtp_server: Start) -> None:
    sink, settings = smtp_server()
    message = alert()
    send_email(settings, RECIPIENTS[:2], message)
    content = sink.received[0][0].content
    assert isinstance(content, bytes) and max(content) < 128  # RFC 2047 subject, base64/QP bodies
    mail = sink.mail()
    assert mail["Subject"] == message.subject
    plain = mail.get_body(("plain",))
    assert plain is not None and plain.get_content().replace("\r\n", "\n") == message.text


def test_a_message_without_html_is_plain_text(smtp_server: Start) -> None:
    sink, settings = smtp_server()
    message = Message("digest:2026-11-28", "일일 요약", "오늘은 변경 없음.\n", None, {})
    send_email(settings, ["a@example.org"], message)
    mail = sink.mail()
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().strip() == "오늘은 변경 없음."
    assert mail["Message-ID"] == message_id("digest:2026-11-28")


NO_TLS_WARNING = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@NO_TLS_WARNING
def test_login_uses_the_credentials_from_the_environment(
    smtp_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, settings = smtp_server(authenticator=True, auth_required=True, auth_require_tls=False)
    send_email(with_login(settings, monkeypatch), ["a@example.org"], alert())
    assert sink.logins == [(USER.encode(), PASSWORD.encode())]
    assert len(sink.received) == 1


@NO_TLS_WARNING
def test_a_refused_login_names_the_variables_but_not_the_password(
    smtp_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, settings = smtp_server(authenticator=True, auth_required=True, auth_require_tls=False)
    settings = with_login(settings, monkeypatch)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong-" + PASSWORD)
    with pytest.raises(NotifyError) as caught:
        send_email(settings, ["a@example.org"], alert())
    message = str(caught.value)
    assert message.startswith(f"smtp 127.0.0.1:{settings.port}: login refused (535")
    assert "$TEST_SMTP_USER / $TEST_SMTP_PASSWORD" in message
    assert PASSWORD not in message and caught.value.__cause__ is None


def test_an_unset_password_variable_is_named(
    smtp_server: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, settings = smtp_server()
    settings = with_login(settings, monkeypatch)
    monkeypatch.delenv("TEST_SMTP_PASSWORD")
    with pytest.raises(NotifyError, match=r"\$TEST_SMTP_PASSWORD is not set"):
        send_email(settings, ["a@example.org"], alert())


def test_starttls_with_login(
    smtp_server: Start, tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink, settings = smtp_server(
        security="starttls",
        tls_context=tls,
        require_starttls=True,
        authenticator=True,
        auth_required=True,
    )
    send_email(with_login(settings, monkeypatch), ["a@example.org"], alert())
    assert sink.tls == [True]
    assert sink.received[0][1].authenticated
    assert sink.mail()["Subject"] == alert().subject


def test_starttls_with_an_untrusted_certificate_fails_clearly(
    smtp_server: Start, tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    sink, settings = smtp_server(security="starttls", tls_context=tls, require_starttls=True)
    with pytest.raises(NotifyError, match=r"TLS certificate not trusted .*check \[email\]\.host"):
        send_email(settings, ["a@example.org"], alert())
    assert sink.received == []


def test_starttls_on_a_server_without_it(smtp_server: Start) -> None:
    _, settings = smtp_server()
    settings = settings.model_copy(update={"security": "starttls"})
    with pytest.raises(NotifyError, match="offers no STARTTLS"):
        send_email(settings, ["a@example.org"], alert())


def test_implicit_tls(smtp_server: Start, tls: ssl.SSLContext) -> None:
    sink, settings = smtp_server(security="tls", ssl_context=tls)
    send_email(settings, ["a@example.org"], alert())
    assert sink.tls == [True]


def test_server_down_raises_a_clear_error() -> None:
    port = free_port()
    settings = EmailSettings(host="127.0.0.1", port=port, security="none", timeout=5)
    with pytest.raises(NotifyError) as caught:
        send_email(settings, ["a@example.org"], alert())
    assert str(caught.value) == (
        f"smtp 127.0.0.1:{port}: connection refused; is the mail server running? "
        "check [email].host/port"
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_a_silent_server_times_out(silent_port: int) -> None:
    settings = EmailSettings(host="127.0.0.1", port=silent_port, security="none", timeout=0.5)
    with pytest.raises(NotifyError, match=r"no answer within 0\.5 s; check \[email\]\.host/port"):
        send_email(settings, ["a@example.org"], alert())


def test_no_recipients() -> None:
    settings = EmailSettings(host="127.0.0.1", port=free_port(), security="none")
    with pytest.raises(NotifyError, match=r"no recipients; set \[email\]\.to"):
        send_email(settings, [], alert())


def test_all_recipients_refused(smtp_server: Start) -> None:
    sink, settings = smtp_server(Sink(refuse={"a@example.org", "b@example.org"}))
    with pytest.raises(NotifyError, match=r"all recipients refused \(a@example.org: 550 5\.1\.1"):
        send_email(settings, ["a@example.org", "b@example.org"], alert())
    assert sink.received == []


def test_some_recipients_refused_is_logged_not_retried(
    smtp_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    sink, settings = smtp_server(Sink(refuse={"gone@example.org"}))
    with caplog.at_level(logging.WARNING, logger="monitor.notify"):
        send_email(settings, ["a@example.org", "gone@example.org"], alert())
    assert sink.received[0][0].rcpt_tos == ["a@example.org"]
    assert "refused gone@example.org (550" in caplog.text


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("change.42.email", "<change.42.email@monitor>"),
        ("alert-7", "<alert-7@monitor>"),
        ("change:42:email", None),
        ("digest 2026-11-28 <a@b>", None),
        ("..", None),
        ("한글", None),
    ],
)
def test_message_ids_are_dot_atoms_and_keep_keys_apart(key: str, expected: str | None) -> None:
    made = message_id(key)
    if expected is not None:
        assert made == expected
    atext = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+"
    assert re.fullmatch(rf"<{atext}(\.{atext})*@monitor>", made), made
    assert message_id(key + "x") != made
    assert message_id(key.replace(":", "-")) != made or ":" not in key


# ---- webhooks ----------------------------------------------------------------------------------


def hook(server: HTTPServer, **kw: Any) -> WebhookSettings:
    return WebhookSettings(name="ops", url=server.url_for("/hook"), timeout=5, **kw)


def test_json_webhook_posts_the_payload_with_idempotency_and_token(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_TOKEN", "tok-123")
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    message = alert()
    send_webhook(hook(httpserver, token_env="TEST_HOOK_TOKEN"), message)
    request, _ = httpserver.log[0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "change:42:email"
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["User-Agent"].startswith("monitor/")
    body = json.loads(request.get_data().decode("utf-8"))
    assert body == json.loads(json.dumps(message.payload))
    assert body["title"] == KOREAN_TITLE and body["event"] == "change"


def test_no_token_no_authorization(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    send_webhook(hook(httpserver), alert())
    assert "Authorization" not in httpserver.log[0][0].headers


def test_an_unset_token_variable_is_named(httpserver: HTTPServer) -> None:
    with pytest.raises(NotifyError, match=r"webhook ops .*\$TEST_HOOK_UNSET is not set"):
        send_webhook(hook(httpserver, token_env="TEST_HOOK_UNSET"), alert())
    assert httpserver.log == []


def test_slack_body(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    event = change_event(
        f"{OLD_CVID} Tom & Jerry <b>said</b> hello.", NEW_COMPLETE, title="A <b> & B"
    )
    message = change_message(event, dedup_key="k1", timezone="Asia/Seoul", labels=LABELS)
    send_webhook(hook(httpserver, format="slack"), message)
    request, _ = httpserver.log[0]
    assert request.headers["Idempotency-Key"] == "k1"
    body = json.loads(request.get_data().decode("utf-8"))
    assert body == slack_body(message)
    assert body["text"].startswith("CVID dropped: A &lt;b&gt; &amp; B\n")
    section = body["blocks"][1]["text"]
    assert section["type"] == "mrkdwn"
    assert "Tom &amp; Jerry &lt;b&gt;said&lt;/b&gt; hello." in section["text"]
    assert "<" not in section["text"] and ">" not in section["text"].replace("&gt;", "")
    assert body["blocks"][0]["text"]["text"] == message.subject
    assert body["blocks"][2]["elements"][0]["text"].startswith("<https://www.whitehouse.gov/")


def test_slack_body_fits_slack_limits() -> None:
    long = Message(
        "k", "x" * 400, "line of text\n" * 2000, None, {"url": "https://e.org/?a=1&b=2|3"}
    )
    body = slack_body(long)
    assert len(body["blocks"][0]["text"]["text"]) <= 150
    assert len(body["blocks"][1]["text"]["text"]) <= 3000
    assert body["blocks"][1]["text"]["text"].endswith("\n…")
    assert body["blocks"][2]["elements"][0]["text"] == "<https://e.org/?a=1&amp;b=2%7C3|Open>"


def test_a_500_raises_without_the_token(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_TOKEN", "tok-secret-999")
    httpserver.expect_request("/hook").respond_with_data(
        "upstream broke; you sent Bearer tok-secret-999", status=500
    )
    with pytest.raises(NotifyError) as caught:
        send_webhook(hook(httpserver, token_env="TEST_HOOK_TOKEN"), alert())
    message = str(caught.value)
    assert message.startswith(f"webhook ops (localhost:{httpserver.port}): HTTP 500")
    assert "tok-secret-999" not in message and "<token>" in message
    assert "/hook" not in message  # a Slack webhook URL carries its secret in the path


def test_a_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "", status=301, headers={"Location": "/elsewhere"}
    )
    with pytest.raises(NotifyError, match=r"HTTP 301 .*redirects are not followed"):
        send_webhook(hook(httpserver), alert())


def test_a_webhook_nobody_listens_on() -> None:
    port = free_port()
    settings = WebhookSettings(name="ops", url=f"http://127.0.0.1:{port}/hook/secret", timeout=5)
    with pytest.raises(NotifyError) as caught:
        send_webhook(settings, alert())
    message = str(caught.value)
    assert message.startswith(f"webhook ops (127.0.0.1:{port}): ")
    assert "check [webhooks].url" in message and "secret" not in message


def test_a_silent_webhook_times_out(silent_port: int) -> None:
    settings = WebhookSettings(name="ops", url=f"http://127.0.0.1:{silent_port}/h", timeout=0.5)
    with pytest.raises(
        NotifyError, match=r"^webhook ops \(127\.0\.0\.1:\d+\): no answer within 0\.5 s$"
    ):
        send_webhook(settings, alert())


def test_idempotency_keys_are_header_safe() -> None:
    assert idempotency_key("change:42:email") == "change:42:email"
    odd = idempotency_key("한글 key\r\n")
    assert re.fullmatch(r"[\x21-\x7e]+", odd) and odd != idempotency_key("한글 key")


def test_korean_subjects_of_every_length_survive_folding() -> None:
    """CPython's own folding loses the space between two encoded words ("한미 정상" ->
    "한미정상"); every prefix of a long mixed subject must come back exactly."""
    title = "CVID dropped (now complete denuclearization): 한미 정상 공동성명 — 비핵화 문구 변경, 2026년 11월 28일 서울"
    for n in range(1, len(title) + 1):
        message = Message("k", title[:n] + " " + title, "본문\n", None, {})
        raw = bytes(build_email("m@example.org", ["a@example.org"], message))
        assert max(raw) < 128
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert parsed["Subject"] == message.subject, n


def test_long_keys_come_back_exactly() -> None:
    key = "change:revision:1d724f0fdfc1:97ed979084a9:342444b05032:email-with-a-long-tail"
    raw = bytes(build_email("m@example.org", ["a@example.org"], alert(key)))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["X-Monitor-Dedup-Key"] == key
    assert parsed["Message-ID"] == message_id(key)


def test_message_date_is_now() -> None:
    mail = build_email("m@example.org", ["a@example.org"], alert())
    sent = email.utils.parsedate_to_datetime(mail["Date"])
    assert abs((sent - datetime.now(UTC)).total_seconds()) < 60
    assert mail["Auto-Submitted"] == "auto-generated"
